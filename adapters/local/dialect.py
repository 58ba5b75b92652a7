"""Athena (Trino) SQL -> DuckDB SQL, with sqlglot plus the fixes sqlglot does not make.

Pinned differences (tests in tests/integration/test_dialect.py):
- `TRY(json_parse(x))`: Trino gives NULL for text that is not JSON; DuckDB's TRY does not
  catch JSON parse errors, so it is rewritten to `CASE WHEN json_valid(x) THEN json(x) END`,
  and `TRY(json_parse(x)) IS NULL` to `(x IS NULL OR NOT json_valid(x))`.
- Integer division: Trino's bigint / bigint truncates, DuckDB's gives a double. Not
  rewritten (the operand types are unknown here): write `floor(CAST(a AS double) / b)`.
- `date_diff('day', a, b)`: Trino counts whole elapsed days, DuckDB counts day boundaries.
- `json_extract_scalar` on an object: Trino gives NULL, DuckDB gives the object's JSON text.
- `TRY(1/0)`: Trino gives NULL, DuckDB gives inf (division by zero is not an error there).
- `from_big_endian_64(xxhash64(to_utf8(x)))`: DuckDB's own 64-bit hash stands in (other values).
"""

from __future__ import annotations

import re
from collections.abc import Collection

import sqlglot
from sqlglot import TokenType, exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError

from adapters.local.json_paths import share_json_parses
from domain.errors import QueryError


def _is_try_json_parse(node: exp.Expression | None) -> bool:
    return isinstance(node, exp.Try) and isinstance(node.this, exp.ParseJSON)


def _json_parse_safely(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Is) and _is_try_json_parse(node.this) and isinstance(node.expression, exp.Null):
        # `TRY(json_parse(x)) IS NULL` asks only whether x is JSON: json_valid(x) answers without
        # building the document (measured on 1M lines: 0.6 s against 1.5 s).
        text = node.this.this.this
        valid = exp.Anonymous(this="json_valid", expressions=[text.copy()])
        return exp.Paren(this=exp.or_(exp.Is(this=text.copy(), expression=exp.Null()), exp.Not(this=valid)))
    if _is_try_json_parse(node):
        text = node.this.this
        valid = exp.Anonymous(this="json_valid", expressions=[text.copy()])
        return exp.Case(ifs=[exp.If(this=valid, true=node.this.copy())])
    return node


def _is_call(node: exp.Expression | None, name: str) -> bool:
    return isinstance(node, exp.Anonymous) and str(node.this).lower() == name and len(node.expressions) == 1


def _hash_of_text(node: exp.Expression) -> exp.Expression:
    """`from_big_endian_64(xxhash64(to_utf8(x)))`, Trino's 64-bit hash of a text as a bigint, has
    no DuckDB spelling: DuckDB's own `hash(x)` (an unsigned 64-bit hash) takes its place, shifted
    into bigint's range. The values differ between the engines; each is stable within its engine,
    which is all a hash bucket needs (domain/services/batching.py numbers batches with it)."""
    if not _is_call(node, "from_big_endian_64"):
        return node
    inner = node.expressions[0]
    if not _is_call(inner, "xxhash64") or not isinstance(inner.expressions[0], exp.Encode):
        return node
    text = inner.expressions[0].this.copy()
    hashed = exp.BitwiseRightShift(
        this=exp.Anonymous(this="hash", expressions=[text]), expression=exp.Literal.number(1)
    )
    return exp.Cast(this=exp.Paren(this=hashed), to=exp.DataType.build("BIGINT"))


# sqlglot names the expression it could not complete by its class; a user knows the operator.
_OPERATORS = {
    "Mul": "'*'", "Div": "'/'", "Add": "'+'", "Sub": "'-'", "Mod": "'%'", "DPipe": "'||'",
    "EQ": "'='", "NEQ": "'<>'", "GT": "'>'", "GTE": "'>='", "LT": "'<'", "LTE": "'<='",
    "And": "AND", "Or": "OR", "Not": "NOT", "Like": "LIKE", "ILike": "ILIKE", "In": "IN", "Is": "IS",
    "Between": "BETWEEN", "Alias": "AS", "Where": "WHERE", "Having": "HAVING", "Cast": "CAST", "TryCast": "TRY_CAST",
    "Case": "CASE", "If": "WHEN", "Join": "JOIN", "Order": "ORDER BY", "Group": "GROUP BY", "Limit": "LIMIT",
}  # fmt: skip
_MISSING = re.compile(r"Required keyword: '(\w+)' missing for <class '(?:\w+\.)*(\w+)'>")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")
# Tokens after which a comma leaves an empty item: sqlglot drops it, Trino refuses the query.
_ENDS_LIST = {TokenType.COMMA, TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.FROM}


def _describe(description: str, highlight: str) -> str:
    missing = _MISSING.search(description)
    if missing:
        part, node = missing.groups()
        name = _OPERATORS.get(node, node.upper())
        what = "right-hand operand" if part == "expression" and node in _OPERATORS else "condition or expression"
        return f"{name} is not followed by its {what}"
    if description.startswith("Invalid expression / Unexpected token"):
        return f"unexpected {highlight!r}" if highlight else "unexpected text"
    return re.sub(r"<class '(?:\w+\.)*(\w+)'>", r"\1", description)


def _previous_token_position(sql: str, line: int, col: int) -> tuple[int, int]:
    """Where the token before the one at (line, col) ends, if it is on an earlier line: a
    missing operand is missing after the operator, not at the next line's first token, where
    sqlglot stopped."""
    try:
        tokens = Dialect.get_or_raise("athena").tokenize(sql)
    except Exception:  # the tokenizer's own error: keep sqlglot's position
        return line, col
    previous = None
    for token in tokens:
        if (token.line, token.col) >= (line, col):
            break
        previous = token
    return (previous.line, previous.col) if previous is not None and previous.line < line else (line, col)


def parse_error_message(exc: ParseError, sql: str = "") -> str:
    """sqlglot's first error as one plain line: what, where, and the SQL up to the spot.

    sqlglot's own message underlines with terminal escapes, spreads the context over many
    lines and names its classes ("Required keyword: 'expression' missing for Mul"). The line
    number counts from the start of the statement the engine ran, which for staging includes
    SQL of the stage's own, so the text before the spot is quoted too.
    """
    if not exc.errors:
        return str(exc)
    first = exc.errors[0]
    highlight = str(first.get("highlight") or "")
    description = str(first.get("description") or "syntax error")
    line, col = int(first.get("line") or 0), int(first.get("col") or 0)
    if _MISSING.search(description) and sql:
        line, col = _previous_token_position(sql, line, col)
    text = " ".join(f"{first.get('start_context') or ''}{highlight}".split())
    before = f", after '{'...' if len(text) > 60 else ''}{text[-60:]}'" if text else ""
    return f"{_describe(description, highlight)} at line {line}, column {col}{before}"


def check_strictly(sql: str, *, sql_name: str) -> None:
    """What sqlglot accepts and Trino refuses: an empty list item (`a,, b`, `a, FROM`), a
    character that is no SQL token, a `?` parameter nothing binds. Raises QueryError."""
    try:
        tokens = Dialect.get_or_raise("athena").tokenize(sql)
    except Exception as exc:  # sqlglot's TokenError: an unterminated string or comment
        raise QueryError(f"SQL does not parse as Athena/Trino SQL: {exc}", sql_name=sql_name) from None
    for token, following in zip(tokens, [*tokens[1:], None], strict=True):
        where = f"at line {token.line}, column {token.col}"
        if token.token_type is TokenType.UNKNOWN or (
            token.token_type is TokenType.VAR and not _IDENTIFIER.fullmatch(token.text)
        ):
            raise QueryError(
                f"SQL does not parse as Athena/Trino SQL: unexpected {token.text!r} {where}", sql_name=sql_name
            )
        if token.token_type is TokenType.PLACEHOLDER:
            raise QueryError(
                f"SQL does not parse as Athena/Trino SQL: a '?' parameter {where}; nothing binds it in a pipeline",
                sql_name=sql_name,
            )
        empty_after = token.token_type in (TokenType.COMMA, TokenType.L_PAREN, TokenType.SELECT)
        if empty_after and following is not None and following.token_type is TokenType.COMMA:
            raise QueryError(
                f"SQL does not parse as Athena/Trino SQL: an empty item in a list at line {following.line}, "
                f"column {following.col} (Athena refuses it)",
                sql_name=sql_name,
            )
        if token.token_type is TokenType.COMMA and following is not None and following.token_type in _ENDS_LIST:
            raise QueryError(
                f"SQL does not parse as Athena/Trino SQL: a comma with no item after it {where} (Athena refuses it)",
                sql_name=sql_name,
            )


def athena_to_duckdb(sql: str, *, sql_name: str, valid_json: Collection[str] = ()) -> str:
    """One Athena SELECT as DuckDB SQL. `valid_json`: columns known to hold valid JSON in every
    row (SqlEngine.materialize), parsed without checking them first."""
    check_strictly(sql, sql_name=sql_name)
    try:
        statements = sqlglot.parse(sql, read="athena")
    except ParseError as exc:
        message = parse_error_message(exc, sql)
        raise QueryError(f"SQL does not parse as Athena/Trino SQL: {message}", sql_name=sql_name) from exc
    if len(statements) != 1 or statements[0] is None:
        raise QueryError(f"expected exactly one SELECT statement, found {len(statements)}", sql_name=sql_name)
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise QueryError(f"expected a SELECT statement, found {tree.key.upper()}", sql_name=sql_name)
    rewritten = tree.transform(_json_parse_safely).transform(_hash_of_text)
    return share_json_parses(rewritten, valid_json).sql(dialect="duckdb")
