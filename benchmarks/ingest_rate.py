"""The ingest fan-out's work on one core: source lines -> the raw table's Parquet.

On AWS each ingest item is one Lambda streaming its object (or byte range) through the shared
line splitter (adapters/shared/lines.py) into Snappy Parquet (adapters/aws/s3_lines_ingest.py).
This times the same splitter and writer from local disk on one thread, for the cost model's
lines per second per core and the raw table's bytes per source byte; and the local engine's
own ingest of the same files with every core, the part of the local staging stage that the
AWS ingest fan-out does instead of Athena (the rest of the stage is SQL).

Run as `python -m benchmarks.ingest_rate --spec SPEC --work DIR --report FILE.json` (its own
process, so pyarrow's one-thread setting stays in it).
"""

from __future__ import annotations

import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from adapters.local.duckdb_engine import DuckDBSqlEngine
from adapters.shared.lines import RAW_SCHEMA, iter_line_batches
from benchmarks.child_cli import spec_work_main
from domain.ports.sql_engine import TableRef

# Enough lines for a steady rate (one 250k-line file of the example takes about a second).
MAX_FILES = 2


def local_engine_seconds(files: list[Path], work: Path) -> float:
    """The local engine's ingest_lines over `files` (linked into a folder of their own)."""
    folder = work / "source"
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        (folder / path.name).symlink_to(path.resolve())
    began = time.perf_counter()
    DuckDBSqlEngine(work / "lake").ingest_lines(str(folder), TableRef("raw", "raw/"))
    return time.perf_counter() - began


def measure(spec_file: Path, work: Path) -> dict[str, Any]:
    source = Path(tomllib.loads(spec_file.read_text())["source"]["path"])
    files = sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith(("_", ".")))[:MAX_FILES]
    work.mkdir(parents=True, exist_ok=True)
    local = local_engine_seconds(files, work)
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    lines = source_bytes = raw_bytes = 0
    began = time.perf_counter()
    for path in files:
        out = work / f"{path.stem}.parquet"
        with path.open("rb") as stream, pq.ParquetWriter(out, RAW_SCHEMA, compression="snappy") as writer:
            for batch in iter_line_batches(stream, path.name):
                writer.write_batch(batch)
                lines += batch.num_rows
        source_bytes += path.stat().st_size
        raw_bytes += out.stat().st_size
        out.unlink()
    seconds = time.perf_counter() - began
    return {
        "files": len(files),
        "lines": lines,
        "source_bytes": source_bytes,
        "raw_bytes": raw_bytes,
        "seconds": round(seconds, 3),
        "lines_per_second_per_core": round(lines / seconds, 1) if seconds else None,
        "raw_bytes_per_source_byte": round(raw_bytes / source_bytes, 4) if source_bytes else None,
        "local_engine_seconds": round(local, 3),
        "local_seconds_per_line": local / lines if lines else None,
    }


def main(argv: list[str] | None = None) -> int:
    return spec_work_main(
        argv,
        prog="python -m benchmarks.ingest_rate",
        description=__doc__,
        work_help="a scratch folder for the Parquet written",
        run=measure,
    )


if __name__ == "__main__":
    sys.exit(main())
