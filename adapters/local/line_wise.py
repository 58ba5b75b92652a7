"""Whether a SELECT maps each row of one input on its own, so it can run part by part.

The DuckDB engine runs the staging statements file by file (one thread each, files in
parallel, each file's lines read where they are). That gives the same rows as one statement
over all the lines only if no result row depends on more than one line: the input is read
once, through FROM clauses, derived tables and inner joins (or as the kept side of a LEFT
JOIN), and nothing combines rows (an aggregate, a window, DISTINCT, GROUP BY, LIMIT, a set
operation other than UNION ALL). The test is conservative: a statement it cannot prove
line-wise (a WITH clause, the input in a WHERE sub-query, ...) runs whole instead, which
is slower and gives the same result.
"""

from __future__ import annotations

from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from domain.spec import PLACEHOLDER
from domain.sql import strip_statement

_COMBINING: tuple[type[Any], ...] = (
    exp.AggFunc,
    exp.Window,
    exp.Group,
    exp.Having,
    exp.Qualify,
    exp.Limit,
    exp.Fetch,
    exp.Offset,
    exp.Distinct,
    exp.Intersect,
    exp.Except,
    exp.With,
)


def _input_name(placeholder: str) -> str:
    return f"__lines_{placeholder}"


def _joins_keep_every_row(select: exp.Select, via_join: exp.Join | None) -> bool:
    """The input comes into `select` through its FROM (via_join None) or through `via_join`."""
    for join in select.args.get("joins") or []:
        side, kind = (join.args.get("side") or "").upper(), (join.args.get("kind") or "").upper()
        if kind not in ("", "INNER", "CROSS"):
            return False  # SEMI, ANTI, ...: rows of the other side decided by the whole input
        if join is via_join and side:
            return False  # the input is the joined side of an outer join
        if join is not via_join and side in ("RIGHT", "FULL"):
            return False  # rows of the other side without a line would repeat per part
    return True


def _reached_through_from(table: exp.Table) -> bool:
    node: exp.Expression = table
    via_join: exp.Join | None = None
    while node.parent is not None:
        parent = node.parent
        if isinstance(parent, exp.Join):
            via_join = parent
        elif isinstance(parent, exp.Select):
            if node.arg_key not in ("from_", "from", "joins") or not _joins_keep_every_row(parent, via_join):
                return False
            via_join = None
        elif isinstance(parent, exp.Union):
            if parent.args.get("distinct"):
                return False
        elif not isinstance(parent, exp.From | exp.Subquery | exp.TableAlias):
            return False  # a WHERE, IN or EXISTS sub-query, an expression, ...
        node = parent
    return True


def maps_each_row(sql: str, placeholder: str) -> bool:
    """Whether `sql` (Athena dialect, `{{ name }}` placeholders) maps each row of
    `{{ placeholder }}` on its own (see the module's docstring)."""
    if [m.group(1) for m in PLACEHOLDER.finditer(sql)].count(placeholder) != 1:
        return False
    text = PLACEHOLDER.sub(lambda m: _input_name(m.group(1)), strip_statement(sql))
    try:
        tree = sqlglot.parse_one(text, read="athena")
    except ParseError:
        return False
    if not isinstance(tree, exp.Query) or any(True for _ in tree.find_all(*_COMBINING)):
        return False
    tables = [t for t in tree.find_all(exp.Table) if t.name == _input_name(placeholder)]
    return len(tables) == 1 and _reached_through_from(tables[0])
