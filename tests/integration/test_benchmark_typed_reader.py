"""The benchmark's floor stages the same rows through DuckDB's typed NDJSON reader as over the
text (adapters/local/typed_lines.py; the reader itself: tests/integration/test_typed_lines.py)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from adapters.local.dialect import athena_to_duckdb
from adapters.local.typed_lines import typed_select
from benchmarks.floor import records_sql, typed_records_sql
from examples.age.generate import generate
from tests.integration.test_typed_lines import TRICKY

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "age"
LINES = "columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '', escape = '', header = false, auto_detect = false"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("typed")
    generate(folder, 600, seed=11, rows_per_file=600, malformed_fraction=0.05)
    path = folder / "profiles-00000.jsonl"
    with path.open("a") as out:
        out.write("\n".join(TRICKY) + "\n")
    return path


def staging_duckdb() -> str:
    staging = (EXAMPLE / "staging.sql").read_text().replace("{{ source }}", "source")
    return athena_to_duckdb(staging, sql_name="staging", valid_json=("line",))


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
