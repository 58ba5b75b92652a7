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
    assert "JSON_EXTRACT_STRING(line, [" in rewritten  # the rewrite happened
    assert rows(db, rewritten) == rows(db, plain(staging))
    db.execute(f"CREATE TABLE staged AS {rewritten}")
    features = (EXAMPLE / "features.sql").read_text().replace("{{ staging }}", "staged")
    assert rows(db, athena_to_duckdb(features, sql_name="features.sql")) == rows(db, plain(features))


def test_a_single_extraction_and_select_star_are_left_alone() -> None:
    one = athena_to_duckdb("SELECT json_extract_scalar(line, '$.a') FROM t", sql_name="x")
    star = athena_to_duckdb(
        "SELECT *, json_extract_scalar(line, '$.a'), json_extract_scalar(line, '$.b') FROM t", sql_name="x"
    )
    assert "JSON_EXTRACT_STRING(line, [" not in one + star


def test_text_that_is_not_json_gives_null_like_trino() -> None:
    sql = athena_to_duckdb(
        "SELECT json_extract_scalar(line, '$.a') AS a, json_extract_scalar(line, '$.b') AS b "
        "FROM (VALUES ('{\"a\": 1, \"b\": 2}'), ('{broken')) AS t(line)",
        sql_name="x",
    )
    assert duckdb.sql(sql).fetchall() == [("1", "2"), (None, None)]
