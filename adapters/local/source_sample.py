"""The first lines of a source: for a dry run (`batchml validate`), and to estimate its line
count (`batchml plan`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from adapters.shared.source_files import SourceFile, decompressed

CHUNK_BYTES = 1 << 16


def _lines(stream: Any) -> Iterator[bytes]:
    """Lines (without their newline) from anything with `read(n)`: pyarrow's S3 streams do not
    iterate by line."""
    pending = b""
    while chunk := stream.read(CHUNK_BYTES):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from complete
    if pending:
        yield pending


def write_sample(files: Iterable[SourceFile], lines: int, out: Path) -> int:
    """Copy the first `lines` lines of the source files, in the run's order, into one
    JSON-lines file; returns how many. A gzip file cut short ends its share early: the run
    reports that line, a sample need not."""
    written = 0
    with out.open("wb") as sample:
        for source_file in files:
            try:
                with source_file.open() as raw:
                    stream: IO[bytes] | Any = decompressed(raw, source_file.name)
                    for line in _lines(stream):
                        sample.write(line + b"\n")
                        written += 1
                        if written == lines:
                            return written
            except (EOFError, OSError):  # cut short or corrupt: the run reports it, a sample need not
                continue
    return written


@dataclass(frozen=True)
class SourceMeasure:
    """A source's files and its first lines: enough to estimate its line count."""

    object_bytes: tuple[int, ...]  # each file's stored size
    compressed: bool
    sampled_lines: int
    sampled_bytes: int  # stored bytes those lines took (compressed bytes, for a compressed file)

    @property
    def lines(self) -> int:
        """The line count, if every file is like the sampled part."""
        if not self.sampled_lines:
            return 0
        return round(sum(self.object_bytes) * self.sampled_lines / max(self.sampled_bytes, 1))


def measure_lines(files: Iterable[SourceFile], lines: int) -> SourceMeasure:
    """Read the first `lines` lines (in the run's file order) and count the stored bytes they
    took: for a compressed file, the compressed bytes consumed, so its line count can be
    estimated from its stored size."""
    files = list(files)
    counted = stored = 0
    for source_file in files:
        with source_file.open() as raw:
            read = 0
            try:
                for line in _lines(decompressed(raw, source_file.name)):
                    counted += 1
                    read += len(line) + 1
                    if counted == lines:
                        break
            except (EOFError, OSError):  # cut short or corrupt: the run reports it, a size estimate need not
                pass
            stored += raw.tell() if source_file.compression else min(read, source_file.size)
        if counted == lines:
            break
    return SourceMeasure(
        object_bytes=tuple(f.size for f in files),
        compressed=bool(files) and all(f.compression for f in files),
        sampled_lines=counted,
        sampled_bytes=stored,
    )
