"""Rendering the pipeline's SQL: placeholders and literals, never raw user strings.

Statements are written in the Athena (Trino) dialect. `{{ name }}` placeholders stay in
the text for the engine adapter to resolve; this module only substitutes sub-queries the
domain builds itself, and formats literals safely.
"""

from __future__ import annotations

import math
import re

from domain.spec import PLACEHOLDER


def substitute(sql: str, replacements: dict[str, str]) -> str:
    """Replace `{{ name }}` placeholders found in `replacements`; leave the others."""

    def repl(match: re.Match[str]) -> str:
        return replacements.get(match.group(1), match.group(0))

    return PLACEHOLDER.sub(repl, sql)


def string_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def number_literal(value: float) -> str:
    if not math.isfinite(value):
        raise ValueError(f"cannot write {value!r} as a SQL number")
    return f"CAST({value!r} AS double)"


def strip_statement(sql: str) -> str:
    """The SELECT without trailing semicolons, so it can be wrapped (CTAS, COPY, sub-query)."""
    return sql.strip().rstrip(";").strip()
