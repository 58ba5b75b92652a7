"""A few lines of a source file read in place, found by byte offset instead of reading it all.

The rejects statement needs the text of the rejected lines only: about 250 of a 250k-line
file in the benchmark's data. Reading every such file whole as text for them took 3.1 s at
10M lines (0.15 s per file). Ingest counts each file's lines anyway, so it also notes where
every block of BLOCK_LINES lines starts (a GROUP BY over the count it makes, no dearer:
adapters/local/line_items.py); a wanted line is then one short read from its block's start.

The offsets are trusted only when they add up to the file's size (with or without a final
newline), so a reader that dropped or changed bytes (a byte-order mark, say) leaves the file
to be read whole as before; the file's size and modification time are checked after each
reading (`InPlace.check`: the same file before and while it was read), as for every reading
in place.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pyarrow as pa

from adapters.local.line_items import LineItem
from adapters.shared.lines import RAW_SCHEMA
from domain.errors import DataQualityError

# Lines per block: a wanted line costs one read of at most this many lines (about 55 KB of the
# benchmark's profiles), and the offsets take 8 bytes per block (31 KB per 250k-line file).
BLOCK_LINES = 64


def block_starts(block_bytes: Sequence[int], file_size: int) -> array[int] | None:
    """Each block's first byte, from the bytes of each block's lines (newlines included, as
    if the last line had one); None unless they add up to the file's size."""
    total = sum(block_bytes)
    if total not in (file_size, file_size + 1):
        return None
    starts = array("q", [0])
    for size in block_bytes[:-1]:
        starts.append(starts[-1] + size)
    return starts


def read_starts(path: Path, blocks: int) -> array[int] | None:
    """The offsets written at ingest, or None if absent or not the record's (a torn write)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    starts = array("q")
    if len(data) != blocks * starts.itemsize:
        return None
    starts.frombytes(data)
    return starts


def fetch_lines(
    source_file: str, path: str, starts: Sequence[int], block_lines: int, wanted: Iterable[int]
) -> pa.Table:
    """The raw table's rows (source_file, line_number, line, problem) of the `wanted` line
    numbers of the file at `path`, whose blocks of `block_lines` lines start at `starts`;
    each block read once."""
    by_block: dict[int, list[int]] = {}
    for number in sorted(set(wanted)):
        by_block.setdefault((number - 1) // block_lines, []).append(number)
    numbers: list[int] = []
    texts: list[str] = []
    with open(path, "rb") as handle:
        for block, in_block in by_block.items():
            if block >= len(starts):
                raise DataQualityError(f"{source_file}: line {in_block[0]} is past the lines ingest counted")
            handle.seek(starts[block])
            end = starts[block + 1] if block + 1 < len(starts) else None
            data = handle.read(end - starts[block]) if end is not None else handle.read()
            whole = data.endswith(b"\n")
            lines = data.split(b"\n")
            if whole:
                lines.pop()  # the newline ends the block's last line; no line follows it
            if end is not None and (not whole or len(lines) != block_lines):
                raise DataQualityError(
                    f"{source_file}: block {block} is not the {block_lines} whole lines ingest counted there"
                )
            for number in in_block:
                at = (number - 1) % block_lines
                if at >= len(lines):
                    raise DataQualityError(f"{source_file}: line {number} is past the lines ingest counted")
                numbers.append(number)
                texts.append(lines[at].decode("utf-8"))
    return pa.table(
        {
            "source_file": pa.array([source_file] * len(numbers), pa.string()),
            "line_number": pa.array(numbers, pa.int64()),
            "line": pa.array(texts, pa.large_string()),
            "problem": pa.nulls(len(numbers), pa.string()),
        },
        schema=RAW_SCHEMA,
    )


def item_starts(item: LineItem, wanted: Mapping[str, Sequence[int]]) -> Sequence[int] | None:
    """Where `item`'s blocks start, if its `wanted` lines (file -> line numbers) are to be read
    from there: a file read in place whose offsets ingest noted, wanting lines from at most a
    quarter of its blocks (more, and reading it whole is as cheap)."""
    if item.in_place is None or item.offsets is None or item.source_file is None:
        return None
    if len(wanted.get(item.source_file, ())) * 4 > item.blocks:
        return None
    return read_starts(Path(item.offsets), item.blocks)


def fetch_item(item: LineItem, starts: Sequence[int], wanted: Mapping[str, Sequence[int]]) -> pa.Table:
    """The lines of `item` that `wanted` lists, each read from its block's offset; the file
    checked unchanged after the read (size and modification time)."""
    place, source_file = item.in_place, item.source_file
    assert place is not None and source_file is not None
    fetched = fetch_lines(source_file, place.path, starts, item.block_lines, wanted.get(source_file, ()))
    place.check(source_file)
    return fetched
