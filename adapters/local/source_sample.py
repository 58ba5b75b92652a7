"""The first lines of a source, for a dry run (`batchml validate`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
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
