"""Parquet read in byte ranges: a footer without the file, a row group without the others.

A file's footer is self-contained: framed by the magic bytes, pyarrow reads it alone, so its
row groups, their row counts and column statistics cost one small ranged read (two when the
footer is over 64 KB). A row group's column chunks lie in one span of the file, so reading it
costs one more ranged read; pyarrow reads through `RangedFile`, which serves the fetched spans
and fetches anything else on demand.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pyarrow as pa
import pyarrow.parquet as pq

MAGIC = b"PAR1"
TAIL_BYTES = 64 * 1024

# (start, length) -> the file's bytes there.
Fetch = Callable[[int, int], bytes]


class NotParquetError(ValueError):
    pass


def footer_metadata(fetch: Fetch, size: int, where: str) -> pq.FileMetaData:
    """The footer of the Parquet file of `size` bytes that `fetch` reads; `where` names it."""
    return pq.read_metadata(_framed_footer(fetch, size, where))


def footer_schema(fetch: Fetch, size: int, where: str) -> pa.Schema:
    """The file's Arrow schema, as pyarrow reads it from the footer (the Arrow types the
    writer stored there included)."""
    return pq.read_schema(_framed_footer(fetch, size, where))


def _framed_footer(fetch: Fetch, size: int, where: str) -> pa.BufferReader:
    if size < 12:
        raise NotParquetError(f"{where} is too small to be a Parquet file ({size} bytes)")
    tail = _tail(fetch, size, TAIL_BYTES)
    if tail[-4:] != MAGIC:
        raise NotParquetError(f"{where} is not a Parquet file (no PAR1 at its end)")
    footer_length = int.from_bytes(tail[-8:-4], "little")
    if footer_length + 8 > size - 4:
        raise NotParquetError(f"{where}: its footer claims {footer_length} bytes, more than the file holds")
    if footer_length + 8 > len(tail):
        tail = _tail(fetch, size, footer_length + 8)
    # The footer is self-contained: framed by the magic bytes, pyarrow reads it alone.
    return pa.BufferReader(MAGIC + tail[-(footer_length + 8) :])


def _tail(fetch: Fetch, size: int, length: int) -> bytes:
    start = max(size - length, 0)
    return fetch(start, size - start)


def row_group_span(metadata: pq.FileMetaData, row_group: int) -> tuple[int, int]:
    """(start, length) of the bytes holding row group `row_group`'s column chunks."""
    group = metadata.row_group(row_group)
    starts, ends = [], []
    for i in range(group.num_columns):
        chunk = group.column(i)
        start = chunk.data_page_offset
        if chunk.has_dictionary_page and chunk.dictionary_page_offset:
            start = min(start, chunk.dictionary_page_offset)
        starts.append(start)
        ends.append(start + chunk.total_compressed_size)
    if not starts:
        return 0, 0
    return min(starts), max(ends) - min(starts)


class RangedFile(io.RawIOBase):
    """A read-only file of `size` bytes whose prefetched spans are served from memory; a read
    outside them is fetched as it comes (a writer's offsets pyarrow needs that the spans
    missed cost a request more, never a wrong byte)."""

    def __init__(self, fetch: Fetch, size: int) -> None:
        self._fetch = fetch
        self._size = size
        self._position = 0
        self._spans: list[tuple[int, bytes]] = []

    def prefetch(self, start: int, length: int) -> None:
        length = max(0, min(length, self._size - start))
        if length:
            self._spans.append((start, self._fetch(start, length)))

    def release(self) -> None:
        """Forget the prefetched spans (their bytes were read)."""
        self._spans.clear()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        wanted = min(len(buffer), self._size - self._position)
        if wanted <= 0:
            return 0
        data = self._bytes(self._position, wanted)
        buffer[: len(data)] = data
        self._position += len(data)
        return len(data)

    def _bytes(self, start: int, length: int) -> bytes:
        for span_start, span in self._spans:
            if span_start <= start and start + length <= span_start + len(span):
                offset = start - span_start
                return span[offset : offset + length]
        return self._fetch(start, length)
