"""The benchmark's floor stages the same rows through DuckDB's typed NDJSON reader as over the
text (adapters/local/typed_lines.py; the reader itself: tests/integration/test_typed_lines.py)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from adapters.local.typed_lines import typed_select
from benchmarks.floor import records_sql, typed_records_sql
from tests.integration.test_typed_lines import source, staging_duckdb

__all__ = ["source"]  # the fixture: one generated file, then every tricky line


def test_the_floor_stages_the_same_rows_from_the_reader_as_from_the_text(source: Path) -> None:
    text_sql = staging_duckdb()
    typed = typed_select(text_sql)
    assert typed is not None
    with duckdb.connect() as con:
        con.execute(f"CREATE TEMP VIEW source AS {records_sql([source], 'id')}")
        from_text = con.execute(f"SELECT * FROM ({text_sql}) ORDER BY line_number").fetchall()
        con.execute(f"CREATE OR REPLACE TEMP VIEW source AS {typed_records_sql(source, typed, 'id')}")
        from_reader = con.execute(f"SELECT * FROM ({typed.sql}) ORDER BY line_number").fetchall()
    assert len(from_text) > 600 * 0.9 and from_reader == from_text
