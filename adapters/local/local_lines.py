"""A local source file as the raw table's lines: noted to be read in place, or copied.

See adapters/local/line_items.py for why: only a file DuckDB cannot read exactly is copied.
"""

from __future__ import annotations

import uuid
from array import array
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from adapters.local.line_fetch import BLOCK_LINES, block_starts
from adapters.local.line_items import (
    RECORD_SUFFIX,
    InPlace,
    LineItem,
    count_in_place,
    items_of,
    offsets_name,
    part_name,
    record_name,
)
from adapters.local.paths import TEMP_MARK
from adapters.shared.lines import RAW_SCHEMA, iter_line_batches
from adapters.shared.source_files import SourceFile, compression_of
from domain.errors import DataQualityError
from domain.ports.sql_engine import IngestItem


def ingest_file(item: IngestItem, folder: Path) -> int:
    """The item's file, counted to be read in place later, or copied into a raw part (written
    under a temporary name and renamed into place); its record last, so an item without one is
    not ingested. Returns its lines."""
    folder.mkdir(parents=True, exist_ok=True)
    path = Path(item.source_file)
    if not path.is_file():
        raise DataQualityError(f"source file {item.source_file} is gone since the run planned its ingest")
    record, part = folder / record_name(item.index), folder / part_name(item.index)
    offsets = folder / offsets_name(item.index)
    record.unlink(missing_ok=True)
    offsets.unlink(missing_ok=True)
    counted = _count_in_place(path)
    if counted is not None:
        lines, blank, place, starts = counted
        part.unlink(missing_ok=True)
        if starts is not None:
            _replace_file(offsets, lambda temporary: temporary.write_bytes(starts.tobytes()))
        noted = None if starts is None else str(offsets)
        done = LineItem(
            item.index,
            item.source_file,
            lines,
            in_place=place,
            blank_lines=blank,
            offsets=noted,
            blocks=len(starts or ()),
            block_lines=BLOCK_LINES,
        )
    else:
        source = SourceFile(item.source_file, item.size, "", lambda: path.open("rb"), local_path=path)
        lines = _replace_file(part, lambda temporary: _copy_lines(source, temporary))
        done = LineItem(item.index, item.source_file, lines, part=str(part))
    _replace_file(record, lambda temporary: temporary.write_bytes(done.to_json()))
    return lines


def local_line_items(folder: Path) -> list[LineItem]:
    records = {str(p): p.read_bytes() for p in folder.glob(f"*{RECORD_SUFFIX}")}
    parts = {str(p): p.stat().st_size for p in folder.glob("part-*.parquet")}
    return items_of(records, parts)


def _count_in_place(path: Path) -> tuple[int, int, InPlace, array[int] | None] | None:
    """(lines, blank lines, the file's identity, where each block of lines starts) if DuckDB
    reads the file exactly, else None."""
    if compression_of(path.name) is not None:
        return None
    place = InPlace.of(path)
    try:
        lines, blank, block_bytes = count_in_place(path, BLOCK_LINES)
    except duckdb.Error:
        return None
    place.check(str(path))  # not changed while it was counted
    return lines, blank, place, block_starts(block_bytes, place.size)


def _copy_lines(source: SourceFile, out: Path) -> int:
    """One source file DuckDB cannot read exactly (compressed, a carriage return, U+0001,
    invalid UTF-8, a line too long) -> a raw Parquet part, through `iter_line_batches`, which
    flags such lines instead of failing. Both readers number lines from 1, keep blank lines and
    treat a missing final newline alike (tests/integration/test_duckdb_engine.py holds them to
    the same output)."""
    lines = 0
    with source.open() as stream, pq.ParquetWriter(out, RAW_SCHEMA, compression="snappy") as writer:
        for batch in iter_line_batches(stream, source.name):
            writer.write_batch(batch)
            lines += batch.num_rows
    return lines


def _replace_file(final: Path, write: Callable[[Path], int]) -> int:
    temporary = final.with_name(f".{final.name}{TEMP_MARK}{uuid.uuid4().hex[:8]}")
    try:
        written = write(temporary)
        temporary.replace(final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return written
