"""Split JSON-lines byte streams into Arrow batches of (source_file, line_number, line, problem).

Vectorised: newlines are found with numpy and each block becomes one Arrow array without a
Python object per line. Shared by every engine that ingests from a byte stream (local files
today, S3 objects through pyarrow's filesystem on AWS).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from adapters.shared.source_files import decompressed

BLOCK_BYTES = 32 * 1024 * 1024
UTF8_BOM = b"\xef\xbb\xbf"

RAW_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("line_number", pa.int64()),
        ("line", pa.large_string()),
        ("problem", pa.string()),
    ]
)


def _decode(values: pa.LargeBinaryArray) -> tuple[pa.Array, pa.Array]:
    """Binary lines -> (text, problem). Invalid UTF-8 is replaced, and flagged, line by line."""
    try:
        text = values.cast(pa.large_string())
        problem = pa.nulls(len(values), pa.string())
    except pa.ArrowInvalid:
        # Rare: some line in this block is not UTF-8. Fall back to Python for this block only.
        raw = values.to_pylist()
        decoded: list[str] = []
        flags: list[str | None] = []
        for item in raw:
            try:
                decoded.append(item.decode("utf-8"))
                flags.append(None)
            except UnicodeDecodeError:
                decoded.append(item.decode("utf-8", errors="replace"))
                flags.append("invalid_utf8")
        text = pa.array(decoded, pa.large_string())
        problem = pa.array(flags, pa.string())
    # Blank lines are left to the classification SQL, which looks only at lines that are not
    # JSON: checking every line here cost 3.3 s per million lines.
    return pc.utf8_rtrim(text, characters="\r\n"), problem


def _batch(name: str, first_line: int, values: pa.LargeBinaryArray, forced: str | None = None) -> pa.RecordBatch:
    text, problem = _decode(values)
    if forced is not None:
        problem = pa.array([forced] * len(values), pa.string())
    n = len(values)
    return pa.record_batch(
        [
            pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, np.int32)), pa.array([name])).cast(pa.string()),
            pa.array(np.arange(first_line, first_line + n, dtype=np.int64)),
            text,
            problem,
        ],
        schema=RAW_SCHEMA,
    )


def _split(buffer: bytes) -> tuple[pa.LargeBinaryArray, bytes]:
    """Complete lines of `buffer` (each keeping its newline) and the unfinished rest."""
    data = np.frombuffer(buffer, dtype=np.uint8)
    ends = np.flatnonzero(data == 10) + 1
    if len(ends) == 0:
        return pa.array([], pa.large_binary()), buffer
    offsets = np.concatenate(([0], ends)).astype(np.int64)
    used = int(ends[-1])
    # The lines point into `buffer` itself (no copy of the block).
    array = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(ends), [None, pa.py_buffer(offsets), pa.py_buffer(memoryview(buffer)[:used])]
    )
    return array, buffer[used:]


def _read_block(reader: BinaryIO, block_bytes: int) -> tuple[bytes, BaseException | None]:
    """Up to `block_bytes` bytes, and the error that stopped the stream early, if any.

    read1() hands over each decompressed piece as it comes, so the data before a corrupt or
    truncated spot is kept instead of being lost with the exception.
    """
    pieces: list[bytes] = []
    size = 0
    while size < block_bytes:
        try:
            piece = reader.read1(block_bytes - size)  # type: ignore[attr-defined]
        except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
            return b"".join(pieces), exc
        if not piece:
            break
        pieces.append(piece)
        size += len(piece)
    return b"".join(pieces), None


def iter_line_batches(
    stream: BinaryIO, name: str, block_bytes: int = BLOCK_BYTES, *, strip_bom: bool = True
) -> Iterator[pa.RecordBatch]:
    """Every line of one file, in order, numbered from 1. A trailing newline ends the last
    line rather than starting an empty one; a byte order mark at the start is dropped. A gzip
    stream cut short yields what it held and then one line flagged `truncated_gzip` (its
    unfinished end, possibly empty); a corrupt one ends the same way, flagged `unreadable`."""
    reader = decompressed(stream, name)
    carry = b""
    line_number = 1
    first = strip_bom
    while True:
        block, error = _read_block(reader, block_bytes)
        if first:
            # A UTF-8 byte order mark (Windows tools write one) is not part of the first line,
            # as DuckDB's reader also has it.
            block, first = block.removeprefix(UTF8_BOM), False
        lines, carry = _split(carry + block)
        if len(lines):
            yield _batch(name, line_number, lines)
            line_number += len(lines)
        if error is not None:
            code = "truncated_gzip" if isinstance(error, EOFError) else "unreadable"
            tail = carry if code == "truncated_gzip" else carry + f" [{type(error).__name__}: {error}]".encode()
            yield _batch(name, line_number, pa.array([tail], pa.large_binary()), forced=code)
            return
        if not block:
            break
    if carry:
        yield _batch(name, line_number, pa.array([carry], pa.large_binary()))
