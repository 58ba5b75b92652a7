"""The staging SELECT over DuckDB's typed NDJSON reader, for the floor and the ceiling.

The staging SELECT, after adapters/local/json_paths.py, reads each line's top-level keys
through one `json_transform(line, '{"a": "VARCHAR", ...}')`. DuckDB's NDJSON reader, given the
same structure as its one column, gives the same value for every line (a JSON object with
fields of any type, an array, a scalar, text that is not JSON: tests/integration/
test_benchmark_typed_reader.py), parsing the file's buffer in place instead of a copy of each
line. It skips lines of nothing but JSON whitespace, so its rows are numbered by position
among the other lines; every other line gives exactly one row (a NULL one for text that is
not JSON).

The pipeline does not use it (measured 2026-12-05, benchmarks/findings.md): its staging SELECT
took 1.23-1.34 s per 250k-line file this way against 1.35-1.45 s over the text, and no
difference in staging's 47 s at 10M rows, because the line index parses every line anyway.
The floor, which checks validity in the same pass, gains 1 s at 1M rows and 12 s at 10M.

A SELECT qualifies when the line column is used only as the argument of that one
json_transform, or passed through a sub-query's select list (`SELECT *`, `SELECT r.line`) and
never reaches the result. The rewrite replaces the transform by the column itself: a source
that gives each line's struct under the line column's name then feeds the same SELECT.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from adapters.local.line_items import quote

# Lines longer than DuckDB's reader accepts by default (16 MB) are read too.
MAX_OBJECT_BYTES = 64 << 20


@dataclass(frozen=True)
class TypedSelect:
    """A SELECT rewritten to read the line column as a struct of `fields` (key -> DuckDB type)."""

    sql: str
    fields: dict[str, str]

    @property
    def keys(self) -> list[str]:
        """The top-level keys the struct reads."""
        return list(self.fields)

    @property
    def structure(self) -> str:
        """The struct as json_transform's structure argument."""
        return json.dumps(self.fields)

    @property
    def struct_type(self) -> str:
        """`STRUCT("a" VARCHAR, ...)`: the struct as a DuckDB type."""
        quoted = (f'"{key.replace(chr(34), chr(34) * 2)}" {type_sql}' for key, type_sql in self.fields.items())
        return f"STRUCT({', '.join(quoted)})"


def _flat_fields(structure: str) -> dict[str, str] | None:
    """json_transform's structure as key -> type, if it is flat; None for anything else."""
    try:
        fields = json.loads(structure)
    except ValueError:
        return None
    if not isinstance(fields, dict) or not fields or not all(isinstance(v, str) for v in fields.values()):
        return None
    return fields


def _is_transform_of(node: exp.Expr | None, column: str) -> bool:
    return (
        isinstance(node, exp.Anonymous)
        and str(node.this).lower() == "json_transform"
        and len(node.expressions) == 2
        and isinstance(node.expressions[0], exp.Column)
        and node.expressions[0].name == column
        and isinstance(node.expressions[1], exp.Literal)
        and node.expressions[1].is_string
    )


def _result_selects(node: exp.Expr) -> list[exp.Expr]:
    """The SELECTs whose columns are the statement's result: it, or each branch of its UNION."""
    if isinstance(node, exp.Subquery):
        return _result_selects(node.this)
    if isinstance(node, exp.SetOperation):
        return _result_selects(node.this) + _result_selects(node.expression)
    return [node]


def _passes_through(node: exp.Expression, results: list[exp.Expr]) -> bool:
    """A bare column or star in the select list of a sub-query (not of the statement's result)."""
    target: exp.Expression = node.parent if isinstance(node.parent, exp.Alias) else node
    if isinstance(target, exp.Alias) and target.alias != node.name:
        return False  # renamed: it could reach the result under another name
    select = target.parent
    return (
        isinstance(select, exp.Select)
        and target.arg_key == "expressions"
        and not any(select is result for result in results)
    )


def typed_select(sql: str, column: str = "line") -> TypedSelect | None:
    """`sql` (DuckDB) reading `column` as a struct, or None when it uses the column otherwise."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except ParseError:
        return None
    transforms = [node for node in tree.find_all(exp.Anonymous) if _is_transform_of(node, column)]
    structures = {str(node.expressions[1].this) for node in transforms}
    if len(structures) != 1:
        return None
    fields = _flat_fields(structures.pop())
    if fields is None:
        return None
    results = _result_selects(tree)
    for node in tree.find_all(exp.Column, exp.Star):
        if isinstance(node, exp.Star) and isinstance(node.parent, exp.Column | exp.Count):
            continue  # `r.*` is checked as its column; count(*) reads no column
        star = isinstance(node, exp.Star) or isinstance(node.this, exp.Star)
        if not star and (node.name != column or _is_transform_of(node.parent, column)):
            continue
        if not _passes_through(node, results):
            return None
    for node in transforms:
        node.replace(node.expressions[0].copy())
    return TypedSelect(tree.sql(dialect="duckdb"), fields)


def reader_sql(paths: list[str], struct_type: str, *, filename: bool = False) -> str:
    """DuckDB's NDJSON reader over `paths`: one column `json` of `struct_type` (and `filename`)."""
    files = ", ".join(quote(path) for path in paths)
    columns = "{'json': " + quote(struct_type) + "}"
    return (
        f"read_json([{files}], format = 'newline_delimited', records = false, ignore_errors = true, "
        f"maximum_object_size = {MAX_OBJECT_BYTES}, columns = {columns}, filename = {str(filename).lower()})"
    )
