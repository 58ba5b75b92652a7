"""Athena SQL run through the DuckDB adapter's dialect bridge: what matches Trino, and the
known differences in meaning, pinned so a sqlglot or DuckDB upgrade cannot change them
silently. Trino's results are stated from its documentation."""

from __future__ import annotations

import re

import duckdb
import pytest

from adapters.local.dialect import athena_to_duckdb
from domain.errors import QueryError


def run(sql: str) -> list[tuple[object, ...]]:
    return duckdb.execute(athena_to_duckdb(sql, sql_name="test")).fetchall()


def test_try_json_parse_gives_null_for_broken_json_like_trino() -> None:
    rows = run("""SELECT TRY(json_parse(line)) IS NULL FROM (VALUES ('{"a": 1}'), ('{"a": ')) AS t(line)""")
    assert rows == [(False,), (True,)]


def test_asking_whether_text_is_json_does_not_build_the_document() -> None:
    sql = """SELECT TRY(json_parse(x)) IS NOT NULL, TRY(json_parse(x)) IS NULL
             FROM (VALUES ('{"a": [1]}'), ('{"a": '), (NULL), ('1')) AS t(x)"""
    assert run(sql) == [(True, False), (False, True), (False, True), (True, False)]
    assert "json(" not in athena_to_duckdb(sql, sql_name="test").lower()


def test_json_extract_scalar_matches_on_scalars() -> None:
    assert run("""SELECT json_extract_scalar('{"id": 7, "n": "x"}', '$.id')""") == [("7",)]


def test_difference_json_extract_scalar_on_an_object() -> None:
    # Trino: NULL (not a scalar). DuckDB: the object's JSON text.
    assert run("""SELECT json_extract_scalar('{"a": {"b": 1}}', '$.a')""") == [('{"b":1}',)]


def test_difference_integer_division() -> None:
    # Trino: 7 / 2 = 3 (bigint). DuckDB: 3.5. The pipeline's own SQL uses floor(CAST(.. AS double) / n).
    assert run("SELECT 7 / 2") == [(3.5,)]
    assert run("SELECT CAST(floor(CAST(7 AS double) / 2) AS bigint)") == [(3,)]


def test_difference_date_diff_counts_boundaries() -> None:
    # Trino: 0 whole days elapsed between 23:00 and 01:00 the next day. DuckDB: 1 boundary crossed.
    sql = "SELECT date_diff('day', TIMESTAMP '2024-01-01 23:00:00', TIMESTAMP '2024-01-02 01:00:00')"
    assert run(sql) == [(1,)]


def test_difference_try_division_by_zero() -> None:
    # Trino: TRY(1 / 0) is NULL (division by zero is an error it catches). DuckDB: no error at all.
    assert run("SELECT TRY(1 / 0)") == [(float("inf"),)]


def test_try_cast_turns_wrong_types_into_null() -> None:
    assert run("SELECT TRY_CAST('abc' AS integer), TRY_CAST('42' AS integer)") == [(None, 42)]


@pytest.mark.parametrize("sql", ["DROP TABLE x", "SELECT 1; SELECT 2", "SELEC 1"])
def test_only_one_select_is_accepted(sql: str) -> None:
    with pytest.raises(QueryError, match="test"):
        athena_to_duckdb(sql, sql_name="test")


def test_difference_try_cast_of_a_decimal_string_to_integer() -> None:
    # Trino: NULL ('12.7' is not an integer literal). DuckDB: rounds to 13.
    assert run("SELECT TRY_CAST('12.7' AS integer)") == [(13,)]


def test_difference_try_cast_of_a_whole_decimal_string_to_integer() -> None:
    # Trino: NULL ('1999.0' is not an integer literal); DuckDB: 1999. A real dataset's years were
    # written "1999.0": locally they load, on Athena they become NULL (README's dialect list).
    assert run("SELECT TRY_CAST('1999.0' AS integer)") == [(1999,)]


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT carrier,, origin FROM t", "an empty item in a list at line 1, column 16"),
        ("SELECT carrier, origin, FROM t", "a comma with no item after it at line 1, column 23"),
        ("SELECT f(a,,b) FROM t", "an empty item in a list"),
        ("SELECT a ` b FROM t", "unexpected '`' at line 1, column 10"),
        ("SELECT a ? b FROM t", "a '?' parameter at line 1, column 10"),
    ],
)
def test_what_trino_refuses_is_refused_although_sqlglot_accepts_it(sql: str, message: str) -> None:
    # Before: sqlglot dropped the empty item (or kept the token) and the SQL ran locally, then
    # failed on Athena.
    with pytest.raises(QueryError, match=re.escape(message)):
        athena_to_duckdb(sql, sql_name="features.sql")


def test_a_missing_operand_is_reported_where_it_is_missing_in_words() -> None:
    # Before: "Required keyword: 'expression' missing for Mul at line 4": sqlglot's class name and
    # the line of the token after the operator.
    sql = "SELECT id,\n  age,\n  years * \nFROM t"
    with pytest.raises(QueryError) as caught:
        athena_to_duckdb(sql, sql_name="features.sql")
    assert "'*' is not followed by its right-hand operand at line 3, column 9" in str(caught.value)
    assert "Mul" not in str(caught.value)
