"""How the floor reads JSON lines: the candidates, measured on the same files.

`python -m benchmarks.readers --data DIR` times each way of getting every line into DuckDB
(and checking each with json_valid, so every line is really touched) and prints seconds and
line counts; the floor uses the fastest one that reads the same lines as the pipeline.
`read_text` + `string_split` is left out unless asked for: it took 321 s at 1M rows.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from adapters.shared.lines import RAW_SCHEMA, iter_line_batches
from adapters.shared.source_files import source_files
from benchmarks.floor import numbered_lines_sql

_COUNT = "SELECT count(*), count(*) FILTER (WHERE json_valid(line))"


def via_read_csv(files: list[Path]) -> tuple[int, int]:
    row = duckdb.connect().execute(f"{_COUNT} FROM ({numbered_lines_sql(files)})").fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def via_project_splitter(files: list[Path]) -> tuple[int, int]:
    """adapters.shared.lines (numpy newline search) streamed into DuckDB as Arrow."""

    def batches() -> Iterator[pa.RecordBatch]:
        for path in files:
            with path.open("rb") as stream:
                yield from iter_line_batches(stream, str(path))

    reader = pa.RecordBatchReader.from_batches(RAW_SCHEMA, batches())
    con = duckdb.connect()
    con.register("lines", reader)
    row = con.execute(f"{_COUNT} FROM lines").fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def via_read_text(files: list[Path]) -> tuple[int, int]:
    listed = "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"
    sql = (
        f"{_COUNT} FROM (SELECT unnest(string_split(rtrim(content, chr(10)), chr(10))) AS line "
        f"FROM read_text({listed}))"
    )
    row = duckdb.connect().execute(sql).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.readers", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="a folder of JSON-lines files")
    parser.add_argument("--with-read-text", action="store_true")
    args = parser.parse_args(argv)
    files = source_files(str(args.data))
    readers: dict[str, Callable[[list[Path]], tuple[int, int]]] = {
        "read_csv as lines (floor)": via_read_csv,
        "adapters.shared.lines -> Arrow -> DuckDB": via_project_splitter,
    }
    if args.with_read_text:
        readers["read_text + string_split"] = via_read_text
    for name, read in readers.items():
        started = time.perf_counter()
        lines, valid = read(files)
        print(f"{name:45s} {time.perf_counter() - started:8.2f} s  {lines:,} lines, {valid:,} valid JSON")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
