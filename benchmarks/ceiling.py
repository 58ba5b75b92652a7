"""The ceiling: how fast this work could possibly go on this machine, whatever the design.

The floor (benchmarks/floor.py) still numbers every line and keeps only the records with an
id, first occurrence winning. The ceiling drops even that: the same staging SELECT, with its
JSON read by DuckDB's own newline-delimited JSON reader straight from the source files (the
fastest way DuckDB has to turn JSON lines into typed columns: no line numbers, no rejects, no
duplicate check, a malformed line silently becomes a row of NULLs). Only that staging is timed
here; the report adds the floor's own seconds for everything after staging (features,
training, prediction, the final table), which no pipeline of the same SQL and model can
skip. If the ceiling misses a throughput target, no orchestration can meet it: the work
itself must change (the data, the model, the results table) or the machine.

It needs the staging SELECT's JSON extractions to collapse into one `json_transform` of
the line (the dialect bridge's rewrite, adapters/local/json_paths.py), as the example's
do, to feed it the reader's structs instead (adapters/local/typed_lines.py); otherwise it
reports that it cannot measure.

Run as `python -m benchmarks.ceiling --spec SPEC --work DIR --report FILE.json`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import duckdb

from adapters.local.dialect import athena_to_duckdb
from adapters.local.duckdb_engine import PARQUET_OPTIONS
from adapters.local.line_items import quote
from adapters.local.typed_lines import reader_sql, typed_select
from adapters.shared.source_files import source_files
from benchmarks.child_cli import spec_work_main
from entrypoints.spec_loader import load_spec


def native_staging_sql(staging_sql: str, files: list[Path]) -> str | None:
    """The staging SELECT over DuckDB's JSON reader instead of text lines; None if the SELECT
    does not parse the line in one shared transform (adapters/local/typed_lines.py)."""
    duck = athena_to_duckdb(staging_sql.replace("{{ source }}", "source"), sql_name="staging", valid_json=("line",))
    typed = typed_select(duck)
    if typed is None:
        return None
    reader = reader_sql([str(f) for f in files], typed.struct_type, filename=True)
    source = f"SELECT filename AS source_file, CAST(NULL AS BIGINT) AS line_number, json AS line FROM {reader}"
    return f"WITH source AS ({source})\n{typed.sql}"


def run_ceiling(spec_file: Path, work: Path) -> dict[str, Any]:
    spec = load_spec(spec_file)
    files = source_files(spec.source.path)
    select = native_staging_sql(spec.sql.staging_sql, files)
    if select is None:
        return {"measured": False, "reason": "the staging SELECT does not parse each line in one json_transform"}
    work.mkdir(parents=True, exist_ok=True)
    target = work / "staged.parquet"
    started = time.perf_counter()
    with duckdb.connect(config={"threads": os.cpu_count() or 1, "preserve_insertion_order": False}) as con:
        row = con.execute(f"COPY ({select}) TO {quote(str(target))} ({PARQUET_OPTIONS})").fetchone()
    seconds = time.perf_counter() - started
    target.unlink()
    return {"measured": True, "staging_seconds": round(seconds, 3), "rows": int(row[0]) if row else 0}


def main(argv: list[str] | None = None) -> int:
    return spec_work_main(
        argv,
        prog="python -m benchmarks.ceiling",
        description=__doc__,
        work_help="folder for the staging Parquet (removed after)",
        run=run_ceiling,
    )


if __name__ == "__main__":
    raise SystemExit(main())
