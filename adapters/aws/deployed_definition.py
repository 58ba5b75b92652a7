"""The state machine that runs must be the one compiled from the spec being run.

Terraform deploys a rendering of one spec's graph; a run of another spec would otherwise run
with that spec's concurrency, retries and timeouts (a spec asking for 200 batches at once would
run 2 at a time). The deployed definition holds the ARNs Terraform filled in; the spec's own
compilation has `${...}` placeholders at the same places. Reading the values back from the
deployed definition gives the spec's compilation filled in as Terraform would fill it, which is
then either equal to what is deployed, or the list of what differs, or what `batchml deploy`
puts in its place.
"""

from __future__ import annotations

import json
import re
from typing import Any

from adapters.aws.state_machine import substitute_template

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SHOWN = 12


class DefinitionMismatch(ValueError):
    """The deployed definition is not a batchml compilation this version can read values from."""


def _pattern(template: str) -> re.Pattern[str]:
    parts: list[str] = []
    last = 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[last : match.start()]))
        parts.append(f"(?P<{match.group(1)}>.+?)")
        last = match.end()
    parts.append(re.escape(template[last:]))
    return re.compile("^" + "".join(parts) + "$", re.S)


def template_values(template: Any, deployed: Any, found: dict[str, str] | None = None) -> dict[str, str]:
    """Each `${name}` of the template, read from the same place in the deployed definition."""
    found = {} if found is None else found
    if isinstance(template, dict) and isinstance(deployed, dict):
        for key, value in template.items():
            if key in deployed:
                template_values(value, deployed[key], found)
    elif isinstance(template, list) and isinstance(deployed, list):
        for value, other in zip(template, deployed, strict=False):
            template_values(value, other, found)
    elif isinstance(template, str) and isinstance(deployed, str) and _PLACEHOLDER.search(template):
        match = _pattern(template).match(deployed)
        if match:
            for name, value in match.groupdict().items():
                if found.setdefault(name, value) != value:
                    raise DefinitionMismatch(f"the deployed definition gives {name} two values: {found[name]}, {value}")
    return found


def expected_definition(template_text: str, deployed: dict[str, Any]) -> dict[str, Any]:
    """The spec's compilation filled in with the deployment's own values."""
    values = template_values(json.loads(template_text), deployed)
    try:
        filled = substitute_template(template_text, values)
    except KeyError as exc:
        raise DefinitionMismatch(f"the deployed state machine gives no value for {exc.args[0]}") from None
    result: dict[str, Any] = json.loads(filled)
    return result


def differences(expected: Any, deployed: Any, path: str = "") -> list[str]:
    """Where the deployed definition differs from the expected one, one line each."""
    if isinstance(expected, dict) and isinstance(deployed, dict):
        found: list[str] = []
        for key in sorted(expected.keys() | deployed.keys()):
            where = f"{path}.{key}" if path else key
            if key not in deployed:
                found.append(f"{where}: missing from the deployed machine")
            elif key not in expected:
                found.append(f"{where}: only in the deployed machine")
            else:
                found += differences(expected[key], deployed[key], where)
        return found
    if isinstance(expected, list) and isinstance(deployed, list) and len(expected) == len(deployed):
        return [
            line
            for i, (a, b) in enumerate(zip(expected, deployed, strict=True))
            for line in differences(a, b, f"{path}[{i}]")
        ]
    if expected != deployed:
        return [f"{path}: deployed {json.dumps(deployed)[:80]}, the spec's {json.dumps(expected)[:80]}"]
    return []


def summary(lines: list[str]) -> str:
    more = f"; and {len(lines) - _SHOWN} more" if len(lines) > _SHOWN else ""
    return "; ".join(lines[:_SHOWN]) + more


class StateMachineDeployment:
    """The deployed state machine, compared with (or replaced by) a spec's compilation."""

    def __init__(self, sfn: Any, state_machine_arn: str) -> None:
        self.sfn, self.arn = sfn, state_machine_arn

    def _deployed(self) -> dict[str, Any]:
        definition: dict[str, Any] = json.loads(self.sfn.describe_state_machine(stateMachineArn=self.arn)["definition"])
        return definition

    def differences(self, template_text: str) -> list[str]:
        """Empty when the deployed machine is the spec's compilation."""
        deployed = self._deployed()
        return differences(expected_definition(template_text, deployed), deployed)

    def deploy(self, template_text: str) -> list[str]:
        """Make the deployed machine the spec's compilation (UpdateStateMachine: executions
        already running finish on the definition they started with); returns what changed."""
        deployed = self._deployed()
        expected = expected_definition(template_text, deployed)
        changed = differences(expected, deployed)
        if changed:
            self.sfn.update_state_machine(stateMachineArn=self.arn, definition=json.dumps(expected))
        return changed
