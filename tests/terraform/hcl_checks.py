"""Structural checks of a Terraform configuration, without a terraform binary.

Each check takes a parsed configuration (`Config`) and returns a list of problems, one readable
string each, so the same function serves the real `terraform/` directory and the small bad
snippets of the negative tests. Expressions stay text after parsing (python-hcl2 renders them as
`${...}`), so references and policy actions are read from that text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2
from hcl2.utils import SerializationOptions

from adapters.aws.state_machine import TEMPLATE_VARIABLES

OPTIONS = SerializationOptions(strip_string_quotes=True, with_comments=False, explicit_blocks=False)

REQUIRED_FILES = (
    "versions.tf",
    "variables.tf",
    "outputs.tf",
    "main.tf",
    "s3.tf",
    "glue_athena.tf",
    "ecr.tf",
    "ecs.tf",
    "lambda.tf",
    "sfn.tf",
    "iam.tf",
    "network.tf",
    "monitoring.tf",
)

STATE_MACHINE_TEMPLATE = "statemachine/pipeline.asl.json"

# Exactly what the `batchml asl` rendering may refer to (its contract with sfn.tf): the compiler's list.
STATE_MACHINE_TEMPLATE_VARIABLES = frozenset(TEMPLATE_VARIABLES)

REQUIRED_DEFAULT_TAGS = {"project": "var.project", "environment": "var.environment", "cost_centre": "var.cost_centre"}

_IDENT = r"[A-Za-z_][\w-]*"
_VAR_REF = re.compile(rf"(?<![\w.])var\.({_IDENT})")
_LOCAL_REF = re.compile(rf"(?<![\w.])local\.({_IDENT})")
_DATA_REF = re.compile(rf"(?<![\w.])data\.([A-Za-z_]\w*)\.({_IDENT})")
# Resource types of the providers this configuration may use; loop variables never look like these.
_RESOURCE_REF = re.compile(rf"(?<![\w.])((?:aws|random|null|tls|archive|time)_\w+|terraform_data)\.({_IDENT})")


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


@dataclass
class Config:
    """The parsed .tf files of one directory (or of in-memory snippets), keyed by file name."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    directory: Path | None = None

    @classmethod
    def load(cls, directory: Path) -> Config:
        files = {}
        for path in sorted(directory.glob("*.tf")):
            with path.open(encoding="utf-8") as handle:
                files[path.name] = hcl2.load(handle, serialization_options=OPTIONS)
        return cls(files=files, directory=directory)

    @classmethod
    def from_sources(cls, sources: Mapping[str, str]) -> Config:
        return cls(files={name: hcl2.loads(text, serialization_options=OPTIONS) for name, text in sources.items()})

    def blocks(self, kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Top-level blocks of one kind (`resource`, `variable`, ...) with the file they are in."""
        for file_name, parsed in self.files.items():
            for block in parsed.get(kind, []):
                yield file_name, block

    def variables(self) -> dict[str, dict[str, Any]]:
        return {name: body for _, block in self.blocks("variable") for name, body in block.items()}

    def outputs(self) -> dict[str, dict[str, Any]]:
        return {name: body for _, block in self.blocks("output") for name, body in block.items()}

    def locals(self) -> dict[str, Any]:
        return {name: value for _, block in self.blocks("locals") for name, value in block.items()}

    def resources(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self._typed("resource")

    def data_sources(self) -> dict[tuple[str, str], dict[str, Any]]:
        return self._typed("data")

    def _typed(self, kind: str) -> dict[tuple[str, str], dict[str, Any]]:
        found = {}
        for _, block in self.blocks(kind):
            for type_name, named in block.items():
                for name, body in named.items():
                    found[(type_name, name)] = body
        return found


# ---------------------------------------------------------------------------
# Expression text
# ---------------------------------------------------------------------------


def _interpolation_end(text: str, start: int) -> int:
    """Index of the `}` closing the interpolation whose body starts at `start`."""
    depth, i, in_string = 1, start, False
    while i < len(text):
        char = text[i]
        if in_string:
            if char == "\\":
                i += 2
                continue
            if char == '"':
                in_string = False
            elif text.startswith("${", i) or text.startswith("%{", i):
                i = _interpolation_end(text, i + 2) + 1
                continue
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unterminated interpolation in {text!r}")


def interpolations(template: str) -> list[str]:
    """The expressions inside `${...}` and `%{...}` of a template string (escapes `$${` skipped)."""
    found, i = [], 0
    while i < len(template):
        if template.startswith(("$${", "%%{"), i):
            i += 3
        elif template.startswith(("${", "%{"), i):
            end = _interpolation_end(template, i + 2)
            found.append(template[i + 2 : end])
            i = end + 1
        else:
            i += 1
    return found


def split_expression(expression: str) -> tuple[str, list[str]]:
    """Code of an expression with its string literals removed, and those literals.

    Interpolations nested in a literal stay in the code, so their references are still seen.
    """
    code: list[str] = []
    literals: list[str] = []
    i = 0
    while i < len(expression):
        if expression[i] != '"':
            code.append(expression[i])
            i += 1
            continue
        i += 1
        literal: list[str] = []
        while i < len(expression) and expression[i] != '"':
            if expression[i] == "\\":
                literal.append(expression[i + 1 : i + 2])
                i += 2
            elif expression.startswith(("${", "%{"), i):
                end = _interpolation_end(expression, i + 2)
                nested_code, nested_literals = split_expression(expression[i + 2 : end])
                code.append(f" ({nested_code}) ")
                literals.extend(nested_literals)
                literal.append("\x00")  # marks where a computed part sits in the literal
                i = end + 1
            else:
                literal.append(expression[i])
                i += 1
        i += 1
        literals.append("".join(literal))
        code.append(' "" ')
    return "".join(code), literals


def code_of(value: Any) -> Iterator[str]:
    """Every piece of expression code in a parsed value (dict keys included)."""
    if isinstance(value, str):
        for expression in interpolations(value):
            yield split_expression(expression)[0]
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from code_of(key)
            yield from code_of(item)
    elif isinstance(value, list):
        for item in value:
            yield from code_of(item)


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------


def dangling_references(config: Config) -> list[str]:
    """References to variables, locals, resources and data sources that nothing declares."""
    variables = set(config.variables())
    local_names = set(config.locals())
    resources = set(config.resources())
    data_sources = set(config.data_sources())
    problems = []
    for file_name, parsed in config.files.items():
        for code in code_of(parsed):
            for name in _VAR_REF.findall(code):
                if name not in variables:
                    problems.append(f"{file_name}: var.{name} is not declared")
            for name in _LOCAL_REF.findall(code):
                if name not in local_names:
                    problems.append(f"{file_name}: local.{name} is not declared")
            for type_name, name in _DATA_REF.findall(code):
                if (type_name, name) not in data_sources:
                    problems.append(f"{file_name}: data.{type_name}.{name} is not declared")
            for type_name, name in _RESOURCE_REF.findall(code):
                if (type_name, name) not in resources:
                    problems.append(f"{file_name}: {type_name}.{name} is not declared")
    return sorted(set(problems))


def undocumented_variables(config: Config) -> list[str]:
    problems = []
    for name, body in config.variables().items():
        if not body.get("type"):
            problems.append(f"variable {name} has no type")
        if not str(body.get("description", "")).strip():
            problems.append(f"variable {name} has no description")
    return problems


def undocumented_outputs(config: Config) -> list[str]:
    return [
        f"output {name} has no description"
        for name, body in config.outputs().items()
        if not str(body.get("description", "")).strip()
    ]


def missing_files(directory: Path, required: tuple[str, ...] = REQUIRED_FILES) -> list[str]:
    return [name for name in required if not (directory / name).is_file()]


def log_groups_without_retention(config: Config) -> list[str]:
    return [
        f"aws_cloudwatch_log_group.{name} has no retention_in_days"
        for (type_name, name), body in config.resources().items()
        if type_name == "aws_cloudwatch_log_group" and body.get("retention_in_days") in (None, "", 0)
    ]


def _statements(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Statements of an aws_iam_policy_document, `dynamic "statement"` contents included."""
    yield from document.get("statement", [])
    for dynamic in document.get("dynamic", []):
        yield from dynamic.get("statement", {}).get("content", [])


def _is_deny(statement: dict[str, Any]) -> bool:
    return str(statement.get("effect", "Allow")) == "Deny"


def _static_strings(value: Any, local_values: dict[str, Any], seen: frozenset[str] = frozenset()) -> list[str] | None:
    """The strings a list-valued attribute can hold, following locals; None if not knowable statically."""
    if isinstance(value, list):
        strings: list[str] = []
        for item in value:
            resolved = _static_strings(item, local_values, seen)
            if resolved is None:
                return None
            strings.extend(resolved)
        return strings
    if not isinstance(value, str):
        return None
    expressions = interpolations(value)
    if not expressions:
        return [value]
    # A computed piece inside a literal ("s3:${x}") could expand to anything.
    if len(expressions) != 1 or value != f"${{{expressions[0]}}}":
        return None
    code, strings = split_expression(expressions[0])
    if any("\x00" in literal for literal in strings):
        return None
    if _VAR_REF.search(code) or _RESOURCE_REF.search(code) or _DATA_REF.search(code):
        return None
    if re.search(r"(?<![\w.])(each|statement|count|self)\.", code):
        return None
    for name in _LOCAL_REF.findall(code):
        if name in seen or name not in local_values:
            return None
        resolved = _static_strings(local_values[name], local_values, seen | {name})
        if resolved is None:
            return None
        strings.extend(resolved)
    return strings


_POLICY_MARK = re.compile(r'"?\bStatement"?\s*[=:]')
_ACTION_KEY = re.compile(r'"?\b(Not)?Action"?\s*[=:]\s*(\[[^\]]*\]|"[^"]*")')


def _enclosing_object(text: str, position: int) -> str:
    """The innermost `{...}` of `text` that contains `position`."""
    opened: list[int] = []
    for index, char in enumerate(text[:position]):
        if char == "{":
            opened.append(index)
        elif char == "}" and opened:
            opened.pop()
    if not opened:
        return text
    start, depth = opened[-1], 0
    for end in range(start, len(text)):
        if text[end] == "{":
            depth += 1
        elif text[end] == "}":
            depth -= 1
            if depth == 0:
                return text[start : end + 1]
    return text[start:]


def _strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_in(item)


def _inline_policy_statements(config: Config) -> Iterator[tuple[str, str, str, bool]]:
    """(where, statement text, action list text, is NotAction) of jsonencode()/heredoc policies."""
    for kind, blocks in (("resource", config.resources()), ("data", config.data_sources())):
        for (type_name, name), body in blocks.items():
            for text in _strings_in(body):
                if not _POLICY_MARK.search(text):
                    continue
                for match in _ACTION_KEY.finditer(text):
                    where = f"{'' if kind == 'resource' else 'data.'}{type_name}.{name}"
                    yield where, _enclosing_object(text, match.start()), match.group(2), bool(match.group(1))


def wildcard_actions(config: Config) -> list[str]:
    """Allow statements whose actions contain "*" ("*", "s3:*", "s3:Get*"), or cannot be read statically.

    Deny statements may use wildcards: there a wildcard widens the protection.
    """
    local_values = config.locals()
    problems = []
    for (type_name, name), body in config.data_sources().items():
        if type_name != "aws_iam_policy_document":
            continue
        for index, statement in enumerate(_statements(body)):
            if _is_deny(statement):
                continue
            where = f"data.aws_iam_policy_document.{name} statement {statement.get('sid', index)}"
            if "not_actions" in statement:
                problems.append(f"{where}: Allow with not_actions")
            actions = _static_strings(statement.get("actions", []), local_values)
            if actions is None:
                problems.append(f"{where}: actions are not statically known")
                continue
            problems += [f"{where}: wildcard action {action!r}" for action in actions if "*" in action]
    for where, statement_text, action_text, is_not_action in _inline_policy_statements(config):
        if re.search(r'"?\bEffect"?\s*[=:]\s*"Deny"', statement_text):
            continue
        if is_not_action:
            problems.append(f"{where}: Allow with NotAction")
        elif "*" in action_text:
            problems.append(f"{where}: wildcard action in {action_text}")
    return problems


def passrole_without_condition(config: Config) -> list[str]:
    """iam:PassRole grants must be limited to ECS tasks (iam:PassedToService) and to named roles."""
    local_values = config.locals()
    problems = []
    for (type_name, name), body in config.data_sources().items():
        if type_name != "aws_iam_policy_document":
            continue
        for index, statement in enumerate(_statements(body)):
            actions = _static_strings(statement.get("actions", []), local_values) or []
            if _is_deny(statement) or not any(action.lower() == "iam:passrole" for action in actions):
                continue
            where = f"data.aws_iam_policy_document.{name} statement {statement.get('sid', index)}"
            conditions = [
                c for c in statement.get("condition", []) if str(c.get("variable", "")).lower() == "iam:passedtoservice"
            ]
            if not conditions:
                problems.append(f"{where}: iam:PassRole without an iam:PassedToService condition")
            elif not all(c.get("values") for c in conditions):
                problems.append(f"{where}: iam:PassedToService condition has no values")
            resources = statement.get("resources") or ["*"]
            if "*" in (resources if isinstance(resources, list) else [resources]):
                problems.append(f"{where}: iam:PassRole on every role")
    for where, statement_text, action_text, _ in _inline_policy_statements(config):
        lowered = statement_text.lower()
        if "iam:passrole" in action_text.lower() and "iam:passedtoservice" not in lowered:
            problems.append(f"{where}: iam:PassRole without an iam:PassedToService condition")
    return problems


def _blocks_named(value: Any, block_name: str) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == block_name:
                yield from (entry for entry in (item if isinstance(item, list) else [item]) if isinstance(entry, dict))
            yield from _blocks_named(item, block_name)
    elif isinstance(value, list):
        for item in value:
            yield from _blocks_named(item, block_name)


def public_ip_assignments(config: Config) -> list[str]:
    """network_configuration blocks (ECS services, ...) that do not pin assign_public_ip to false."""
    problems = []
    for (type_name, name), body in config.resources().items():
        for block in _blocks_named(body, "network_configuration"):
            if block.get("assign_public_ip") not in (False, "false", "${false}"):
                problems.append(f"{type_name}.{name}: assign_public_ip is {block.get('assign_public_ip')!r}")
    return problems


def asl_public_ip_assignments(definition: Any) -> list[str]:
    """ECS steps of a state machine definition that give tasks a public IP."""
    problems = []
    if isinstance(definition, dict):
        for key, value in definition.items():
            if key == "AssignPublicIp" and value != "DISABLED":
                problems.append(f"AssignPublicIp is {value!r}")
            problems += asl_public_ip_assignments(value)
    elif isinstance(definition, list):
        for item in definition:
            problems += asl_public_ip_assignments(item)
    return problems


def default_tag_problems(config: Config) -> list[str]:
    providers = [body for _, block in config.blocks("provider") for name, body in block.items() if name == "aws"]
    if not providers:
        return ["no aws provider block"]
    problems = []
    for index, provider in enumerate(providers):
        tag_blocks = provider.get("default_tags", [])
        tags = tag_blocks[0].get("tags", {}) if tag_blocks else {}
        if not isinstance(tags, dict):
            problems.append(f"aws provider {index}: default_tags.tags is not a literal map")
            continue
        for key, reference in REQUIRED_DEFAULT_TAGS.items():
            if tags.get(key) != f"${{{reference}}}":
                problems.append(f"aws provider {index}: default tag {key} is {tags.get(key)!r}, want ${{{reference}}}")
    return problems


# ---------------------------------------------------------------------------
# The state machine template
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateCall:
    where: str
    path: str
    passed: frozenset[str]


def _object_keys(object_text: str) -> set[str]:
    """Top-level keys of an HCL object literal `{a = 1, b = f(x)}`."""
    code, _ = split_expression(object_text)
    keys, depth = set(), 0
    for match in re.finditer(r"[{}\[\]()]|(?:(?<=[{,\s])|^)([A-Za-z_][\w-]*)\s*=(?!=)", code):
        token = match.group(0)
        if token in "{[(":
            depth += 1
        elif token in "}])":
            depth -= 1
        elif depth == 1 and match.group(1):
            keys.add(match.group(1))
    return keys


def templatefile_calls(config: Config) -> list[TemplateCall]:
    calls = []
    for (type_name, name), body in config.resources().items():
        for key, value in body.items():
            if not isinstance(value, str):
                continue
            for expression in interpolations(value):
                match = re.match(r'\s*templatefile\(\s*"([^"]*)"\s*,\s*', expression)
                if not match:
                    continue
                rest = expression[match.end() :].rstrip()
                object_text = rest[: rest.rfind(")")].strip()
                passed = frozenset(_object_keys(object_text))
                calls.append(TemplateCall(f"{type_name}.{name}.{key}", match.group(1), passed))
    return calls


_HCL_KEYWORDS = {"for", "in", "if", "else", "endif", "endfor", "true", "false", "null"}


def template_variables(template: str) -> set[str]:
    """Names a Terraform template refers to (function names and `for` variables excluded)."""
    names: set[str] = set()
    bound: set[str] = set()
    for expression in interpolations(template):
        code, _ = split_expression(expression)
        for match in re.finditer(r"\bfor\s+([A-Za-z_]\w*)(?:\s*,\s*([A-Za-z_]\w*))?\s+in\b", code):
            bound.update(name for name in match.groups() if name)
        for match in re.finditer(r"(?<![\w.])([A-Za-z_]\w*)\b(\s*\()?", code):
            if not match.group(2):
                names.add(match.group(1))
    return names - bound - _HCL_KEYWORDS


def render_with_dummies(template: str) -> str:
    """The template with every `${...}` replaced by a dummy value, kept valid JSON where it was."""
    out, i, in_string = [], 0, False
    while i < len(template):
        if template.startswith("$${", i):
            out.append("${")
            i += 3
        elif template.startswith("${", i):
            end = _interpolation_end(template, i + 2)
            out.append("dummy" if in_string else '"dummy"')
            i = end + 1
        else:
            char = template[i]
            if in_string and char == "\\":
                out.append(template[i : i + 2])
                i += 2
                continue
            if char == '"':
                in_string = not in_string
            out.append(char)
            i += 1
    return "".join(out)


def state_machine_template_problems(config: Config, template_path: Path) -> list[str]:
    """The template exists, is JSON once rendered, and sfn.tf passes exactly the names it uses."""
    calls = [call for call in templatefile_calls(config) if call.path.endswith(STATE_MACHINE_TEMPLATE)]
    if len(calls) != 1:
        return [f"expected one templatefile() of {STATE_MACHINE_TEMPLATE}, found {len(calls)}"]
    call = calls[0]
    problems = []
    if call.passed != STATE_MACHINE_TEMPLATE_VARIABLES:
        missing = sorted(STATE_MACHINE_TEMPLATE_VARIABLES - call.passed)
        extra = sorted(call.passed - STATE_MACHINE_TEMPLATE_VARIABLES)
        problems.append(f"{call.where}: template variables differ from the contract: missing {missing}, extra {extra}")
    if not template_path.is_file():
        return [*problems, f"{template_path} does not exist (render it with `batchml asl`)"]
    template = template_path.read_text(encoding="utf-8")
    unpassed = sorted(template_variables(template) - call.passed)
    if unpassed:
        problems.append(f"{template_path.name} uses {unpassed}, which {call.where} does not pass")
    try:
        definition = json.loads(render_with_dummies(template))
    except json.JSONDecodeError as error:
        return [*problems, f"{template_path.name} is not valid JSON once rendered: {error}"]
    problems += [f"{template_path.name}: {problem}" for problem in asl_public_ip_assignments(definition)]
    return problems
