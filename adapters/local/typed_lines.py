"""Statements over a file's lines read by DuckDB's typed NDJSON reader instead of as text.

Staging reads every line twice: the line index reads its id, the staging SELECT its record.
After adapters/local/json_paths.py, each does it in one of two shapes: the SELECT through one
`json_transform(line, '{"a": "VARCHAR", ...}')` of each line, the index through `line ->>
'$.id'` (under TRY). DuckDB's NDJSON reader, given the same structure as its one column (for
`->>` a VARCHAR field per key), gives the same value for every line (a JSON object with fields
of any type, an array, a scalar, text that is not JSON, for which the struct is NULL:
tests/integration/test_typed_lines.py), parsing the file's buffer in place instead of a copy
of each line. It skips lines of nothing but JSON whitespace, so only a file without any is
read this way (ingest counts them): then its n-th row is the file's n-th line.

Measured per 250k-line file, one thread (benchmarks/findings.md): the line index 0.30 s this
way against 0.49 s over the text, the staging SELECT 1.23-1.34 s against 1.35-1.45 s. The
floor and the ceiling of the benchmark read their records the same way.

A SELECT qualifies when the line column is used only in those extractions (one json_transform
structure, or only top-level `->>` keys), or passed through a sub-query's select list
(`SELECT *`, `SELECT r.line`) and never reaches the result. The rewrite replaces each
extraction by the struct (or its field): a source that gives each line's struct under the
line column's name then feeds the same SELECT.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from adapters.local.hidden_rows import DOC_ID, HIDDEN, ITEM, LINE
from adapters.local.line_items import LineItem, quote

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


def _extracted_key(node: exp.Expr | None, column: str) -> str | None:
    """The key of `column ->> '$.key'` (one top-level key), else None."""
    if not (isinstance(node, exp.JSONExtractScalar) and isinstance(node.this, exp.Column)):
        return None
    path = node.expression
    if node.this.name != column or not isinstance(path, exp.JSONPath) or len(path.expressions) != 2:
        return None
    root, key = path.expressions
    if not isinstance(root, exp.JSONPathRoot) or not isinstance(key, exp.JSONPathKey) or not isinstance(key.this, str):
        return None
    return key.this


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


def _extractions(tree: exp.Expr, column: str) -> tuple[list[exp.Expr], dict[str, str]] | None:
    """The nodes that extract from `column` and the struct they read together: one
    json_transform structure, or VARCHAR fields for `->>` keys. None when they are mixed or
    the structure is not a flat object."""
    transforms: list[exp.Expr] = [node for node in tree.find_all(exp.Anonymous) if _is_transform_of(node, column)]
    keyed: list[exp.Expr] = [
        node for node in tree.find_all(exp.JSONExtractScalar) if _extracted_key(node, column) is not None
    ]
    if transforms and not keyed:
        structures = {str(node.expressions[1].this) for node in transforms}
        fields = _flat_fields(structures.pop()) if len(structures) == 1 else None
        return None if fields is None else (transforms, fields)
    if keyed and not transforms:
        return keyed, {str(_extracted_key(node, column)): "VARCHAR" for node in keyed}
    return None


def _is_extraction(node: exp.Expr | None, column: str) -> bool:
    return _is_transform_of(node, column) or _extracted_key(node, column) is not None


def typed_select(sql: str, column: str = "line") -> TypedSelect | None:
    """`sql` (DuckDB) reading `column` as a struct, or None when it uses the column otherwise."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except ParseError:
        return None
    found = _extractions(tree, column)
    if found is None:
        return None
    extractions, fields = found
    results = _result_selects(tree)
    for node in tree.find_all(exp.Column, exp.Star):
        if isinstance(node, exp.Star) and isinstance(node.parent, exp.Column | exp.Count):
            continue  # `r.*` is checked as its column; count(*) reads no column
        star = isinstance(node, exp.Star) or isinstance(node.this, exp.Star)
        if not star and (node.name != column or _is_extraction(node.parent, column)):
            continue
        if not _passes_through(node, results):
            return None
    for extraction in extractions:
        key = _extracted_key(extraction, column)
        if isinstance(extraction, exp.Anonymous):  # json_transform(line, S) -> the struct
            extraction.replace(extraction.expressions[0].copy())
        elif key is not None:  # line ->> '$.key' -> the struct's field
            field = [extraction.this.copy(), exp.Literal.string(key)]
            extraction.replace(exp.Anonymous(this="struct_extract", expressions=field))
    return TypedSelect(tree.sql(dialect="duckdb"), fields)


def reader_sql(paths: list[str], struct_type: str, *, filename: bool = False) -> str:
    """DuckDB's NDJSON reader over `paths`: one column `json` of `struct_type` (and `filename`)."""
    files = ", ".join(quote(path) for path in paths)
    columns = "{'json': " + quote(struct_type) + "}"
    return (
        f"read_json([{files}], format = 'newline_delimited', records = false, ignore_errors = true, "
        f"maximum_object_size = {MAX_OBJECT_BYTES}, columns = {columns}, filename = {str(filename).lower()})"
    )


def numbered_reader_sql(source_file: str, path: str, struct_type: str) -> str:
    """One file as (source_file, line_number, line, problem) rows whose `line` is the line's JSON
    as `struct_type` (NULL for text that is not JSON). row_number() OVER () in a one-thread
    connection numbers the reader's rows in order, as in_place_lines_sql numbers lines; the
    reader skips blank lines, so the numbers are the file's line numbers only without any."""
    return (
        f"SELECT {quote(source_file)} AS source_file, row_number() OVER () AS line_number, "
        f"json AS line, CAST(NULL AS VARCHAR) AS problem FROM {reader_sql([path], struct_type)}"
    )


def typed_lines_sql(item: LineItem, struct_type: str) -> str:
    """The item's file as rows of the raw table through the reader: only for a file read in
    place without blank lines (`LineItem.typed_readable`), whose n-th row is its n-th line."""
    assert item.in_place is not None and item.source_file is not None and item.blank_lines == 0
    return numbered_reader_sql(item.source_file, item.in_place.path, struct_type)


def records_sql(item: LineItem, struct_type: str, id_field: str) -> str:
    """The lines of `item` (`LineItem.typed_readable`) whose JSON has the id `id_field`, as rows
    of the raw table plus the hidden columns of adapters/local/hidden_rows.py: staging in one
    pass. The id is the struct's VARCHAR field, which equals `TRY(line ->> '$.id')`
    (tests/integration/test_typed_lines.py), as the line index reads it."""
    key = quote(id_field)
    return (
        f"SELECT source_file, line_number, line, problem, {int(item.index)} AS {ITEM}, line_number AS {LINE}, "
        f"struct_extract(line, {key}) AS {DOC_ID} FROM ({typed_lines_sql(item, struct_type)}) "
        f"WHERE struct_extract(line, {key}) IS NOT NULL"
    )


def with_hidden_columns(sql: str) -> str | None:
    """`sql` (DuckDB) with the hidden columns appended to its result's select list, for a
    result that is one SELECT without `*`, DISTINCT or GROUP BY; None otherwise. They reach it
    only if its sub-queries pass the source's columns up (`SELECT *`): DuckDB's binder says
    whether they do."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except ParseError:
        return None
    results = _result_selects(tree)
    if len(results) != 1 or not isinstance(results[0], exp.Select):
        return None
    select = results[0]
    if select.args.get("distinct") or select.args.get("group") or select.args.get("having"):
        return None
    if any(isinstance(e, exp.Star) or isinstance(e.this, exp.Star) for e in select.expressions):
        return None
    select.select(*(exp.column(name) for name in HIDDEN), copy=False)
    return tree.sql(dialect="duckdb")
