"""The benchmark's ceiling stages the same values as the pipeline's SQL, only faster.

Its throughput claim ("no design can beat this") holds only if it does the same staging
work: the same columns and values for every valid line, read by DuckDB's JSON reader.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from adapters.local.dialect import athena_to_duckdb
from benchmarks.ceiling import native_staging_sql
from examples.age.generate import generate

EXAMPLE_STAGING = (Path(__file__).resolve().parents[2] / "examples" / "age" / "staging.sql").read_text()
LINES = "columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '', escape = '', header = false, auto_detect = false"


def test_the_ceiling_stages_the_same_values_as_the_staging_sql(tmp_path: Path) -> None:
    generate(tmp_path, 400, seed=7, rows_per_file=150)
    files = sorted(tmp_path.glob("*.jsonl"))
    native = native_staging_sql(EXAMPLE_STAGING, files)
    assert native is not None and "read_json" in native
    as_text = athena_to_duckdb(EXAMPLE_STAGING.replace("{{ source }}", "source"), sql_name="staging")
    lines = " UNION ALL ".join(
        f"SELECT '{f}' AS source_file, 0 AS line_number, line FROM read_csv('{f}', {LINES})" for f in files
    )
    with duckdb.connect() as con:
        con.execute(f"CREATE TEMP VIEW source AS {lines}")
        drop = "EXCLUDE (source_file, line_number)"
        expected = con.execute(f"SELECT * {drop} FROM ({as_text}) ORDER BY id").fetchall()
        found = con.execute(f"SELECT * {drop} FROM ({native}) ORDER BY id").fetchall()
    assert len(expected) == 400
    assert found == expected


def test_a_select_that_parses_lines_its_own_way_is_not_measured(tmp_path: Path) -> None:
    sql = "SELECT json_extract_scalar(line, '$.id') AS id, length(line) AS n FROM {{ source }}"
    assert native_staging_sql(sql, [tmp_path / "a.jsonl"]) is None
