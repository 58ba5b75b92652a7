"""One Athena statement, parsed with sqlglot's Athena dialect into what the emulator runs.

Supported: SELECT (and WITH ... SELECT), CREATE TABLE ... WITH (...) AS SELECT, INSERT INTO ...
SELECT, CREATE [OR REPLACE] VIEW, DROP TABLE / DROP VIEW [IF EXISTS]. Anything else fails the
way Athena fails a statement it cannot run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from tests.integration.aws.athena_emulation.errors import NotEmulated, not_supported, syntax_error, user_error

Kind = Literal["SELECT", "CTAS", "INSERT", "CREATE_VIEW", "DROP_TABLE", "DROP_VIEW"]
DML_KINDS = frozenset({"SELECT", "CTAS", "INSERT"})  # Athena's DML quota counts these


@dataclass(frozen=True)
class Name:
    """A catalog name; Glue and Trino keep names in lower case."""

    database: str
    table: str

    def __str__(self) -> str:
        return f"{self.database}.{self.table}"


@dataclass(frozen=True)
class Statement:
    kind: Kind
    select: exp.Query | None = None
    target: Name | None = None
    properties: dict[str, str | list[str]] = field(default_factory=dict)
    replace: bool = False
    if_exists: bool = False

    @property
    def dml(self) -> bool:
        return self.kind in DML_KINDS

    @property
    def statement_type(self) -> str:
        return "DML" if self.dml else "DDL"

    @property
    def substatement_type(self) -> str:
        return {"CTAS": "CREATE_TABLE_AS_SELECT"}.get(self.kind, self.kind)


def table_name(table: exp.Table, database: str) -> Name:
    return Name((table.db or database).lower(), table.name.lower())


def _properties(create: exp.Create) -> dict[str, str | list[str]]:
    found: dict[str, str | list[str]] = {}
    props = create.args.get("properties")
    for prop in props.expressions if props else []:
        if isinstance(prop, exp.FileFormatProperty):
            found["format"] = prop.name.upper()
        elif isinstance(prop, exp.PartitionedByProperty) and isinstance(prop.this, exp.Array):
            found["partitioned_by"] = [e.name.lower() for e in prop.this.expressions]
        elif isinstance(prop, exp.Property):
            found[prop.name.lower()] = prop.text("value")
        else:
            raise not_supported(f"table property {prop.sql(dialect='athena')}")
    return found


def parse(sql: str, database: str) -> Statement:
    try:
        trees = [t for t in sqlglot.parse(sql, read="athena") if t is not None]
    except ParseError as exc:
        error = exc.errors[0] if exc.errors else {}
        where = f"line {error.get('line')}:{error.get('col')}: " if error else ""
        raise syntax_error(f"{where}{error.get('description') or exc}") from exc
    if len(trees) != 1:
        # Athena runs one statement per StartQueryExecution.
        raise user_error("INVALID_INPUT", "Only one sql statement is allowed.", error_type=1100)
    tree = trees[0]
    if isinstance(tree, exp.Query):
        return Statement("SELECT", select=tree)
    if isinstance(tree, exp.Insert) and isinstance(tree.this, exp.Table) and isinstance(tree.expression, exp.Query):
        return Statement("INSERT", select=tree.expression, target=table_name(tree.this, database))
    if isinstance(tree, exp.Create) and isinstance(tree.this, exp.Table) and isinstance(tree.expression, exp.Query):
        target = table_name(tree.this, database)
        if tree.kind == "TABLE":
            return Statement("CTAS", select=tree.expression, target=target, properties=_properties(tree))
        if tree.kind == "VIEW":
            return Statement(
                "CREATE_VIEW", select=tree.expression, target=target, replace=bool(tree.args.get("replace"))
            )
    if isinstance(tree, exp.Drop) and tree.kind in ("TABLE", "VIEW"):
        dropped = tree.args.get("tables") or []
        if len(dropped) == 1 and isinstance(dropped[0], exp.Table):
            kind: Kind = "DROP_TABLE" if tree.kind == "TABLE" else "DROP_VIEW"
            return Statement(kind, target=table_name(dropped[0], database), if_exists=bool(tree.args.get("exists")))
    words = sql.split(None, 2)
    if isinstance(tree, exp.Insert | exp.Create | exp.Drop | exp.Alter | exp.Delete | exp.Update | exp.Merge):
        # A statement Athena may well run, in a form the emulator does not: fail the test, not the query.
        raise NotEmulated(f"statement not emulated: {' '.join(words[:2])} ...")
    raise syntax_error(f"line 1:1: mismatched input '{words[0] if words else ''}'")
