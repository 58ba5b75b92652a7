"""The one-parse-per-document rewrite gives the same rows as the SQL as written."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import sqlglot

from adapters.local.dialect import athena_to_duckdb
from examples.age.generate import generate

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "age"


def plain(sql: str) -> str:
    """sqlglot's transpilation alone, without the rewrite."""
    return sqlglot.transpile(sql, read="athena", write="duckdb")[0]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    folder = tmp_path_factory.mktemp("profiles")
    report = generate(folder, 3000, seed=5)
    conn = duckdb.connect()
    lines = [line for path in report.files for line in path.read_text().splitlines()]
    conn.execute("CREATE TABLE src (line VARCHAR, source_file VARCHAR, line_number BIGINT)")
    conn.executemany("INSERT INTO src VALUES (?, 'f', ?)", [(line, i) for i, line in enumerate(lines, 1)])
    return conn


def rows(conn: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[object, ...]]:
    return sorted(conn.execute(sql).fetchall(), key=repr)


def test_staging_and_features_are_unchanged_by_the_rewrite(db: duckdb.DuckDBPyConnection) -> None:
    staging = (EXAMPLE / "staging.sql").read_text().replace("{{ source }}", "src")
    rewritten = athena_to_duckdb(staging, sql_name="staging.sql")
    assert rewritten.count("JSON_TRANSFORM(line") == 1  # the rewrite happened: one parse per line
    assert rows(db, rewritten) == rows(db, plain(staging))
    db.execute(f"CREATE TABLE staged AS {rewritten}")
    features = (EXAMPLE / "features.sql").read_text().replace("{{ staging }}", "staged")
    assert rows(db, athena_to_duckdb(features, sql_name="features.sql")) == rows(db, plain(features))


def test_a_single_extraction_and_select_star_are_left_alone() -> None:
    one = athena_to_duckdb("SELECT json_extract_scalar(line, '$.a') FROM t", sql_name="x")
    star = athena_to_duckdb(
        "SELECT *, json_extract_scalar(line, '$.a'), json_extract_scalar(line, '$.b') FROM t", sql_name="x"
    )
    assert "JSON_TRANSFORM(line" not in one + star and "JSON_EXTRACT_STRING(line, [" not in one + star


def test_text_that_is_not_json_gives_null_like_trino() -> None:
    sql = athena_to_duckdb(
        "SELECT json_extract_scalar(line, '$.a') AS a, json_extract_scalar(line, '$.b') AS b "
        "FROM (VALUES ('{\"a\": 1, \"b\": 2}'), ('{broken')) AS t(line)",
        sql_name="x",
    )
    assert duckdb.execute(sql).fetchall() == [("1", "2"), (None, None)]


def test_columns_checked_already_are_parsed_without_a_second_check(db: duckdb.DuckDBPyConnection) -> None:
    staging = (EXAMPLE / "staging.sql").read_text().replace("{{ source }}", "src")
    checked = athena_to_duckdb(staging, sql_name="staging.sql", valid_json=("line",))
    assert "JSON_VALID(line)" not in checked and checked.count("JSON_TRANSFORM(line") == 1
    valid_only = "(SELECT * FROM src WHERE json_valid(line)) AS src"
    as_written = plain(staging).replace("FROM src", f"FROM {valid_only}")
    assert rows(db, checked.replace("FROM src", f"FROM {valid_only}")) == rows(db, as_written)
    # The caller's promise is checked by DuckDB itself: text that is not JSON fails loudly.
    broken = athena_to_duckdb(
        "SELECT json_extract_scalar(line, '$.a') AS a, json_extract_scalar(line, '$.b') AS b "
        "FROM (VALUES ('{broken')) AS t(line)",
        sql_name="x",
        valid_json=("line",),
    )
    with pytest.raises(duckdb.InvalidInputException, match="Malformed JSON"):
        duckdb.execute(broken).fetchall()


# Values of every awkward kind, for each way an extraction can be read.
_ODD_LINES = [
    '{"s": "abc", "n": 193, "arr": ["a", "b"], "rows": [{"t": "x", "y": 2019}]}',
    '{"s": 123, "n": "193", "arr": "not an array", "rows": {"t": "x"}}',
    '{"s": {"o": 1}, "n": 19.7, "arr": [1, 2, {"x": 1}], "rows": [{"t": 5, "y": "abc"}]}',
    '{"s": true, "n": 1e3, "arr": [null, "x"], "rows": [{"t": "a", "y": 2019.5}, 3]}',
    '{"s": null, "n": null, "arr": null, "rows": null, "deep": {"k": [1, {"v": "w"}]}}',
    '{"s": "first", "s": "second", "n": 99999999999, "arr": [], "rows": []}',
    '{"s": "\\u00e9\\n", "n": -0, "arr": [["nested"]], "rows": [{"y": true}], "deep": {"k": null}}',
    '{"s": 1.50, "n": 2.0}',
    '{"s": 12345678901234567890, "n": -1e2}',
    '{"s": -0.0, "n": "  7 "}',
    "[1, 2]",
    '"text"',
    "{}",
    "{broken",
]


def test_odd_values_read_the_same_through_the_rewrite() -> None:
    values = ", ".join("(" + "'" + line.replace("'", "''") + "')" for line in _ODD_LINES)
    sql = (
        "SELECT json_extract_scalar(line, '$.s') AS s, TRY_CAST(json_extract_scalar(line, '$.n') AS integer) AS n, "
        "TRY_CAST(json_extract(line, '$.arr') AS array(varchar)) AS arr, "
        "TRY_CAST(json_extract(line, '$.rows') AS array(row(t varchar, y integer))) AS rows_, "
        "json_extract(line, '$.rows') AS rows_json, json_extract_scalar(line, '$.deep.k[1].v') AS deep, "
        "CAST(json_extract(line, '$.s') AS varchar) AS s_json "
        f"FROM (VALUES {values}) AS t(line)"
    )
    rewritten = athena_to_duckdb(sql, sql_name="x")
    assert "JSON_TRANSFORM(line" in rewritten and "JSON_EXTRACT(line, [" in rewritten  # both kinds used
    # The plain transpilation fails on the broken line (DuckDB's extractions raise); Trino
    # gives NULLs there, as the rewrite does.
    conn = duckdb.connect()
    expected = [*conn.execute(plain(sql.replace(", ('{broken')", ""))).fetchall(), (None,) * 7]
    assert conn.execute(rewritten).fetchall() == expected


def test_keys_that_differ_only_in_case_stay_apart() -> None:
    sql = athena_to_duckdb(
        "SELECT json_extract_scalar(line, '$.a') AS lower_a, json_extract_scalar(line, '$.A') AS upper_a "
        'FROM (VALUES (\'{"a": 1, "A": 2}\')) AS t(line)',
        sql_name="x",
    )
    assert duckdb.connect().execute(sql).fetchall() == [("1", "2")]
