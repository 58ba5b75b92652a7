"""Parse each JSON document once per row, however many fields a SELECT extracts from it.

`json_extract_scalar(line, '$.a')`, `json_extract_scalar(line, '$.b')`, ... each parse
`line` again in DuckDB: with fifteen fields that is fifteen parses per row (measured on 1M
profile records: ten single extractions 15.4 s, one multi-path extraction 1.9 s).

Top-level keys are read with one `json_transform(line, '{"a": "VARCHAR", ...}')` in a
sub-query, and each extraction becomes a field of that struct:
- `json_extract_scalar(line, '$.a')` is the field as VARCHAR (DuckDB gives the same text
  for strings, numbers, booleans, objects and arrays either way);
- `TRY_CAST(json_extract(line, '$.a') AS <array or row type>)` is the field transformed to
  that type directly: the document is not printed back to JSON text and parsed again for
  the cast. On 1M profile records the example's staging SELECT took 1.8 s instead of 3.4 s.
Other extractions (deeper paths, a bare `json_extract`, whose JSON `null` is not SQL NULL,
a strict CAST) share one `json_extract_string(line, ['$.x', ...])` or `json_extract(line,
[...])` per kind instead. Results are the same as the SQL as written
(tests/integration/test_json_paths.py), except that a document that is not JSON gives NULLs
instead of an error, as in Trino. Each shared parse is guarded by `json_valid`, unless the
caller says the column was checked already (`valid_json`, as staging does for its lines).

It works on the Athena-side syntax tree, before DuckDB SQL is generated: sqlglot reads
DuckDB's `->` operator back as a lambda.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Collection

from sqlglot import exp

_FUNCTIONS: dict[type[exp.Expression], str] = {
    exp.JSONExtractScalar: "json_extract_string",
    exp.JSONExtract: "json_extract",
}


def _path(node: exp.Expression) -> str | None:
    """The literal JSON path of an extraction, or None if it is computed."""
    path = node.args.get("expression")
    if isinstance(path, exp.JSONPath):
        return path.sql(dialect="duckdb").strip("'")
    if isinstance(path, exp.Literal) and path.is_string:
        return str(path.this)
    return None


_TOP_LEVEL_KEY = re.compile(r"^\$\.([A-Za-z_][A-Za-z0-9_]*)$")


def _top_level_key(node: exp.Expression) -> str | None:
    """`a` for the path `$.a`; None for anything deeper or computed."""
    path = node.args.get("expression")
    if isinstance(path, exp.JSONPath):
        parts = path.expressions
        if (
            len(parts) == 2
            and isinstance(parts[0], exp.JSONPathRoot)
            and isinstance(parts[1], exp.JSONPathKey)
            and isinstance(parts[1].this, str)
        ):
            return parts[1].this
        return None
    text = _path(node)
    match = _TOP_LEVEL_KEY.match(text) if text else None
    return match.group(1) if match else None


def _as_struct_field(node: exp.Expression) -> tuple[str, exp.Expression] | None:
    """(the DuckDB type json_transform gives the key, the node its field replaces), or None
    when the extraction must keep its own semantics (see the module's docstring)."""
    if isinstance(node, exp.JSONExtractScalar):
        return "VARCHAR", node
    parent = node.parent
    if (
        isinstance(node, exp.JSONExtract)
        and isinstance(parent, exp.TryCast)
        and node.arg_key == "this"
        and isinstance(parent.to, exp.DataType)
        and parent.to.this in (exp.DataType.Type.ARRAY, exp.DataType.Type.STRUCT)
    ):
        return parent.to.sql(dialect="duckdb"), parent
    return None


def _when_valid(name: str, call: exp.Expression, valid_json: Collection[str]) -> exp.Expression:
    """NULL for text that is not JSON, as in Trino. Not TRY(...): DuckDB's TRY made the
    example's staging SELECT 2.4x slower (4.3 s against 1.8 s on 1M lines).

    The check parses the document once more: on 1M profile lines json_valid took 0.42 s of
    the extraction's 1.43 s. Columns the caller has already checked (`valid_json`) skip it."""
    if name in valid_json:
        return call
    valid = exp.Anonymous(this="json_valid", expressions=[exp.column(name)])
    return exp.Case(ifs=[exp.If(this=valid, true=call)])


def _field(helper: str, key: str) -> exp.Expression:
    return exp.Anonymous(this="struct_extract", expressions=[exp.column(helper), exp.Literal.string(key)])


def _source_alias(select: exp.Select) -> str | None:
    source = select.args.get("from_")
    if source is None or select.args.get("joins") or any(isinstance(e, exp.Star) for e in select.expressions):
        return None  # several sources would make the column ambiguous; `*` would expose helpers
    return str(source.this.alias_or_name)


def _rewrite(select: exp.Select, counter: list[int], valid_json: Collection[str]) -> None:
    alias = _source_alias(select)
    if alias is None:
        return
    by_column: dict[str, list[exp.Expression]] = defaultdict(list)
    extractions: list[exp.Expression] = list(select.find_all(exp.JSONExtractScalar, exp.JSONExtract))
    for node in extractions:
        column = node.this
        if node.parent_select is not select or not isinstance(column, exp.Column) or _path(node) is None:
            continue
        if column.table and column.table != alias:
            continue
        by_column[column.name].append(node)
    extras: list[exp.Expression] = []
    for name, nodes in by_column.items():
        if len(nodes) < 2:
            continue  # one extraction parses once anyway
        rest = _share_one_transform(name, nodes, extras, counter, valid_json)
        _share_path_lists(name, rest, extras, counter, valid_json)
    if extras:
        inner = exp.select("*", *extras).from_(select.args["from_"].this.copy())
        # Keep the source's name, so columns qualified with it still resolve.
        table_alias = exp.TableAlias(this=exp.to_identifier(alias)) if alias else None
        select.set("from_", exp.From(this=exp.Subquery(this=inner, alias=table_alias)))


def _share_one_transform(
    name: str,
    nodes: list[exp.Expression],
    extras: list[exp.Expression],
    counter: list[int],
    valid_json: Collection[str],
) -> list[exp.Expression]:
    """Top-level keys through one json_transform; returns the extractions it cannot take."""
    structure: dict[str, str] = {}
    folded: dict[str, str] = {}  # DuckDB's struct field names are case-insensitive
    taken: list[tuple[exp.Expression, str]] = []
    rest: list[exp.Expression] = []
    for node in nodes:
        key, field = _top_level_key(node), _as_struct_field(node)
        if key is None or field is None or folded.get(key.lower(), key) != key:
            rest.append(node)
            continue
        type_sql, replaced = field
        if structure.setdefault(key, type_sql) != type_sql:
            rest.append(node)  # the key is already read as another type
            continue
        folded[key.lower()] = key
        taken.append((replaced, key))
    if not taken:
        return rest
    counter[0] += 1
    helper = f"__json_{counter[0]}"
    call = exp.Anonymous(
        this="json_transform", expressions=[exp.column(name), exp.Literal.string(json.dumps(structure))]
    )
    extras.append(exp.alias_(_when_valid(name, call, valid_json), helper))  # type: ignore[arg-type]
    for replaced, key in taken:
        replaced.replace(_field(helper, key))
    return rest


def _share_path_lists(
    name: str,
    nodes: list[exp.Expression],
    extras: list[exp.Expression],
    counter: list[int],
    valid_json: Collection[str],
) -> None:
    """The remaining extractions: one multi-path call per kind."""
    groups: dict[type[exp.Expression], list[tuple[exp.Expression, str]]] = defaultdict(list)
    for node in nodes:
        path = _path(node)
        if path is not None:
            groups[type(node)].append((node, path))
    for kind, found in groups.items():
        counter[0] += 1
        helper = f"__json_{counter[0]}"
        paths = list(dict.fromkeys(path for _node, path in found))
        call = exp.Anonymous(
            this=_FUNCTIONS[kind],
            expressions=[exp.column(name), exp.Array(expressions=[exp.Literal.string(p) for p in paths])],
        )
        extras.append(exp.alias_(_when_valid(name, call, valid_json), helper))  # type: ignore[arg-type]
        for found_node, path in found:
            # sqlglot keeps indexes 0-based and adds the dialect's offset (DuckDB lists start at 1).
            found_node.replace(
                exp.Bracket(this=exp.column(helper), expressions=[exp.Literal.number(paths.index(path))])
            )


def share_json_parses(tree: exp.Expression, valid_json: Collection[str] = ()) -> exp.Expression:
    counter = [0]
    for select in list(tree.find_all(exp.Select)):
        _rewrite(select, counter, valid_json)
    return tree
