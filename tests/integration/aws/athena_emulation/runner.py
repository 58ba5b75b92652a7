"""Running one parsed statement for real: its SELECT bound to Glue and S3, transpiled with the
project's own bridge (`adapters.local.dialect.athena_to_duckdb`, the same the local engine uses)
and executed by DuckDB; then what the statement does with the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import xxhash
from duckdb.sqltypes import BLOB
from sqlglot import exp

from adapters.local.dialect import athena_to_duckdb
from domain.errors import QueryError
from tests.integration.aws.athena_emulation import errors
from tests.integration.aws.athena_emulation.binding import Bound, bind, presto_view, view_name
from tests.integration.aws.athena_emulation.errors import NotEmulated
from tests.integration.aws.athena_emulation.lake import PATH, Lake, folder
from tests.integration.aws.athena_emulation.statements import Statement
from tests.integration.aws.athena_emulation.types import athena_type
from tests.integration.aws.athena_emulation.writing import Rows, create_table_as, insert_into


@dataclass(frozen=True)
class Context:
    query_id: str
    database: str
    output_location: str  # the query's result folder (the workgroup's, when it enforces its own)
    enforced: bool  # the workgroup enforces its configuration
    cutoff: int | None  # the workgroup's BytesScannedCutoffPerQuery


@dataclass(frozen=True)
class Outcome:
    scanned: int
    rows: Rows | None = None  # a SELECT's result
    update_count: int | None = None  # rows a CTAS or INSERT wrote


def _xxhash64(data: bytes) -> bytes:
    # Trino's xxhash64(varbinary): the 8-byte XXH64 (seed 0), big-endian; DuckDB has no such function.
    return xxhash.xxh64_digest(data)


def _connect() -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(":memory:", config={"threads": 1})
    conn.create_function("xxhash64", _xxhash64, [BLOB], BLOB)
    return conn


def _names(select: exp.Query, duck_names: list[str]) -> list[str]:
    """Trino's result labels: the alias, else the column's name, else `_colN`; lower case."""
    projections = select.selects
    if len(projections) != len(duck_names) or any(p.is_star for p in projections):
        return [n.lower() for n in duck_names]
    names = []
    for i, p in enumerate(projections):
        if isinstance(p, exp.Alias | exp.Column):
            names.append(p.alias_or_name.lower())
        else:
            names.append(f"_col{i}")
    return names


def select_rows(lake: Lake, bound: Bound) -> Rows:
    with _connect() as conn:
        with_path = f'"{PATH}"' in bound.select.sql(dialect="athena")
        for name, files in bound.tables.items():
            conn.register(view_name(name), lake.load(files, with_path=with_path))
        try:
            sql = athena_to_duckdb(bound.select.sql(dialect="athena"), sql_name="athena emulator")
        except QueryError as exc:
            raise errors.syntax_error(str(exc)) from exc
        try:
            relation = conn.sql(sql)
            table = relation.to_arrow_table()
        except duckdb.Error as exc:
            # DuckDB refused the transpiled SQL: Athena may or may not have; the message says which engine spoke.
            raise errors.user_error("GENERIC_USER_ERROR", f"(DuckDB, running the transpiled SQL) {exc}") from exc
        types = [athena_type(t) for t in relation.types]
    return Rows(table, _names(bound.select, table.column_names), types)


def execute(lake: Lake, statement: Statement, ctx: Context) -> Outcome:
    if statement.kind == "CTAS" and "external_location" in statement.properties and ctx.enforced:
        raise errors.enforced_external_location()
    if statement.select is None:
        return _drop(lake, statement)
    bound = bind(lake, statement.select, ctx.database)
    if statement.kind == "CREATE_VIEW":
        return _create_view(lake, statement, select_rows(lake, bound))
    if ctx.cutoff is not None and bound.scanned > ctx.cutoff:
        raise errors.bytes_scanned_limit(ctx.cutoff)
    rows = select_rows(lake, bound)
    stem = f"{ctx.query_id.replace('-', '')[:20]}"
    if statement.kind == "SELECT":
        return Outcome(bound.scanned, rows=rows)
    target = statement.target
    assert target is not None
    if statement.kind == "CTAS":
        if not lake.database_exists(target.database):
            raise errors.schema_not_found(target.database)
        if lake.table(target) is not None:
            raise errors.user_error(
                "TABLE_ALREADY_EXISTS", f"Destination table 'awsdatacatalog.{target}' already exists"
            )
        props = statement.properties
        if str(props.get("format", "PARQUET")) != "PARQUET":
            raise NotEmulated(f"CTAS format {props['format']}: the emulator writes Parquet only")
        # Without external_location the table goes to the result location's tables/<query id>/
        # (https://docs.aws.amazon.com/athena/latest/ug/considerations-ctas.html).
        location = str(props.get("external_location") or f"{folder(ctx.output_location)}tables/{ctx.query_id}/")
        partitioned_by = props.get("partitioned_by", [])
        keys = list(partitioned_by) if isinstance(partitioned_by, list) else [partitioned_by]
        return Outcome(bound.scanned, update_count=create_table_as(lake, target, location, rows, keys, stem))
    table = lake.table(target)
    if table is None:
        raise errors.table_not_found(f"awsdatacatalog.{target}")
    return Outcome(bound.scanned, update_count=insert_into(lake, target, table, rows, stem))


def _create_view(lake: Lake, statement: Statement, rows: Rows) -> Outcome:
    target, select = statement.target, statement.select
    assert target is not None and select is not None
    existing = lake.table(target)
    if existing is not None and not statement.replace:
        raise errors.user_error("ALREADY_EXISTS", f"View 'awsdatacatalog.{target}' already exists")
    columns = [(n, t.hive or t.name) for n, t in zip(rows.names, rows.types, strict=True)]
    table_input = {
        "Name": target.table,
        "TableType": "VIRTUAL_VIEW",
        "Parameters": {"presto_view": "true", "comment": "Presto View"},
        "ViewOriginalText": presto_view(select.sql(dialect="athena"), target.database, columns),
        "ViewExpandedText": "/* Presto View */",
        "StorageDescriptor": {"Columns": [{"Name": n, "Type": t} for n, t in columns], "SerdeInfo": {}},
        "PartitionKeys": [],
    }
    if existing is not None:
        lake.delete_table(target)
    lake.create_table(target, table_input)
    return Outcome(0)


def _drop(lake: Lake, statement: Statement) -> Outcome:
    """DROP TABLE / DROP VIEW: the catalog entry only; an external table's files stay in S3."""
    target = statement.target
    assert target is not None
    existing = lake.table(target)
    is_view = existing is not None and existing.get("TableType") == "VIRTUAL_VIEW"
    if existing is None or is_view != (statement.kind == "DROP_VIEW"):
        if statement.if_exists and existing is None:
            return Outcome(0)
        raise errors.table_not_found(f"awsdatacatalog.{target}")
    lake.delete_table(target)
    return Outcome(0)
