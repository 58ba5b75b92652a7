"""Binding a SELECT to the catalog: every `"db"."table"` it names is looked up in Glue, a table's
objects are listed (what the query scans), a view is expanded into its SQL. Nothing is read yet,
so a query over the workgroup's scan cutoff is cancelled before any data moves.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from tests.integration.aws.athena_emulation.errors import table_not_found
from tests.integration.aws.athena_emulation.lake import Lake, TableFiles
from tests.integration.aws.athena_emulation.statements import Name, parse, table_name

MAX_VIEW_DEPTH = 8


def view_name(name: Name) -> str:
    return f"__athena_{name.database}__{name.table}"


def presto_view(sql: str, database: str, columns: list[tuple[str, str]]) -> str:
    """How Athena stores a view's SQL in Glue's ViewOriginalText."""
    body = {
        "originalSql": sql,
        "catalog": "awsdatacatalog",
        "schema": database,
        "columns": [{"name": n, "type": t} for n, t in columns],
    }
    return f"/* Presto View: {base64.b64encode(json.dumps(body).encode()).decode()} */"


def _view_sql(table: dict[str, Any]) -> tuple[str, str]:
    text = str(table.get("ViewOriginalText", ""))
    body = text.removeprefix("/* Presto View: ").removesuffix(" */")
    decoded = json.loads(base64.b64decode(body))
    return str(decoded["originalSql"]), str(decoded.get("schema") or table.get("DatabaseName", ""))


@dataclass
class Bound:
    """The SELECT with each table replaced by a DuckDB view name, and the tables behind them."""

    select: exp.Query
    tables: dict[Name, TableFiles] = field(default_factory=dict)

    @property
    def scanned(self) -> int:
        """Bytes a query reads: the whole objects of every table it names. Athena counts only
        the columns and row groups it reads, so this is an upper bound of Athena's figure."""
        return sum(t.size for t in self.tables.values())


def bind(lake: Lake, select: exp.Query, database: str) -> Bound:
    bound = Bound(select.copy())
    _bind(lake, bound, bound.select, database, depth=0)
    return bound


def _bind(lake: Lake, bound: Bound, select: exp.Expr, database: str, depth: int) -> None:
    ctes = {cte.alias_or_name.lower() for cte in select.find_all(exp.CTE)}
    for table in list(select.find_all(exp.Table)):
        if not isinstance(table.this, exp.Identifier) or (not table.db and table.name.lower() in ctes):
            continue
        name = table_name(table, database)
        found = lake.table(name)
        if found is None:
            raise table_not_found(f"awsdatacatalog.{name}")
        alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(table.name))
        if found.get("TableType") == "VIRTUAL_VIEW":
            if depth >= MAX_VIEW_DEPTH:
                raise table_not_found(f"awsdatacatalog.{name} (views nested deeper than {MAX_VIEW_DEPTH})")
            sql, schema = _view_sql(found)
            view = parse(sql, schema).select
            assert view is not None
            inner = view.copy()
            _bind(lake, bound, inner, schema, depth + 1)
            table.replace(exp.Subquery(this=inner, alias=alias))
            continue
        if name not in bound.tables:
            bound.tables[name] = lake.files(name, found)
        table.replace(exp.Table(this=exp.to_identifier(view_name(name), quoted=True), alias=alias))
