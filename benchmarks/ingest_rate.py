"""The ingest fan-out's work on one core: source lines -> the raw table's Parquet.

On AWS each ingest item is one Lambda streaming its object (or byte range) through the shared
line splitter (adapters/shared/lines.py) into Snappy Parquet (adapters/aws/s3_lines_ingest.py).
This times the same splitter and writer from local disk on one thread, for the cost model's
lines per second per core and the raw table's bytes per source byte; and the local engine's
own ingest, one file per core as in a run, the part of the local staging stage that the AWS
ingest fan-out does instead of Athena (the rest of the stage is SQL).

Run as `python -m benchmarks.ingest_rate --spec SPEC --work DIR --report FILE.json` (its own
process, so pyarrow's one-thread setting stays in it).
"""

from __future__ import annotations

import os
import shutil
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

# One file of the example (250,000 lines) takes about a second; the best of a few passes is
# kept, as the least disturbed by whatever else the machine runs.
MAX_FILES = 1
REPEATS = 3


def local_engine_seconds(files: list[Path], work: Path) -> float:
    """The local engine's ingest_lines of `files`, one per core as in a run (hard-linked into a
    folder of their own: a source folder refuses symbolic links out of it)."""
    folder = work / "source"
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        try:
            os.link(path, folder / path.name)
        except OSError:  # another file system
            shutil.copy(path, folder / path.name)
    began = time.perf_counter()
    DuckDBSqlEngine(work / "lake").ingest_lines(str(folder), TableRef("raw", "raw/"))
    seconds = time.perf_counter() - began
    shutil.rmtree(work)
    return seconds


def split_and_write(files: list[Path], work: Path) -> tuple[int, int, float]:
    """Lines, raw Parquet bytes and seconds of one pass of the splitter and writer."""
    lines = raw_bytes = 0
    began = time.perf_counter()
    for path in files:
        out = work / f"{path.stem}.parquet"
        with path.open("rb") as stream, pq.ParquetWriter(out, RAW_SCHEMA, compression="snappy") as writer:
            for batch in iter_line_batches(stream, path.name):
                writer.write_batch(batch)
                lines += batch.num_rows
        raw_bytes += out.stat().st_size
        out.unlink()
    return lines, raw_bytes, time.perf_counter() - began


def measure(spec_file: Path, work: Path) -> dict[str, Any]:
    source = Path(tomllib.loads(spec_file.read_text())["source"]["path"])
    found = sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith(("_", ".")))
    files = found[:MAX_FILES]
    work.mkdir(parents=True, exist_ok=True)
    per_core = found[: os.cpu_count() or 1]
    local = min(local_engine_seconds(per_core, work / f"local-{i}") for i in range(REPEATS))
    local_lines = sum(1 for path in per_core for _ in path.open("rb"))
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    passes = [split_and_write(files, work) for _ in range(REPEATS)]
    lines, raw_bytes, _ = passes[0]
    seconds = min(p[2] for p in passes)
    source_bytes = sum(p.stat().st_size for p in files)
    return {
        "files": len(files),
        "lines": lines,
        "source_bytes": source_bytes,
        "raw_bytes": raw_bytes,
        "seconds": round(seconds, 3),
        "passes_seconds": [round(p[2], 3) for p in passes],
        "lines_per_second_per_core": round(lines / seconds, 1) if seconds else None,
        "raw_bytes_per_source_byte": round(raw_bytes / source_bytes, 4) if source_bytes else None,
        "local_engine_seconds": round(local, 3),
        "local_engine_lines": local_lines,
        "local_seconds_per_line": local / local_lines if local_lines else None,
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
