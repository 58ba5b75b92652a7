"""Which files of a source are read, skipped or refused, and how each is opened.

Every file under a source folder is accounted for: JSON-lines files (any letter case, plain or
compressed) are read; markers and hidden files (`_SUCCESS`, `.DS_Store`) are skipped, as Spark
and Hadoop write them; anything else is refused by name before any work, so no file is left out
of a run's line count without a word. The same rules hold for a folder and an S3 prefix.
"""

from __future__ import annotations

import bz2
import glob
import gzip
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import pyarrow as pa

from domain.errors import DataQualityError

JSON_SUFFIXES = (".jsonl", ".json", ".ndjson")
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}
_SHOWN = 5


@dataclass(frozen=True)
class SourceFile:
    """One source file: its name in messages and rejects, its size, what identifies its version."""

    name: str
    size: int
    version: str
    open: Callable[[], BinaryIO]
    local_path: Path | None = None  # set when DuckDB can read the file itself

    @property
    def compression(self) -> str | None:
        return compression_of(self.name)


def compression_of(name: str) -> str | None:
    lowered = name.lower()
    return next((codec for suffix, codec in COMPRESSIONS.items() if lowered.endswith(suffix)), None)


def classify(name: str) -> Literal["read", "skip", "refuse"]:
    """What a run does with a file of this (base) name."""
    base = name.rsplit("/", 1)[-1]
    if base.startswith(("_", ".")):
        return "skip"
    lowered = base.lower()
    for suffix in COMPRESSIONS:
        lowered = lowered.removesuffix(suffix)
    return "read" if lowered.endswith(JSON_SUFFIXES) else "refuse"


def readable(source: str, names: Iterable[str]) -> list[str]:
    """The names to read, in order; DataQualityError naming the files no reader takes."""
    names = list(names)
    refused = [n for n in names if classify(n) == "refuse"]
    if refused:
        more = f" and {len(refused) - _SHOWN} more" if len(refused) > _SHOWN else ""
        raise DataQualityError(
            f"source {source} holds {len(refused)} file(s) that are not JSON lines: "
            f"{', '.join(refused[:_SHOWN])}{more}. batchml reads .jsonl, .json and .ndjson files (any letter "
            f"case), plain or compressed ({', '.join(COMPRESSIONS)}); move the others out, or point [source] path "
            "at the JSON-lines files (a glob such as data/*.jsonl)"
        )
    return [n for n in names if classify(n) == "read"]


def decompressed(stream: BinaryIO, name: str) -> BinaryIO:
    """The file's bytes, decompressed by its suffix. A stream cut short raises EOFError when it
    is read past its end, whatever the codec (the line reader reports that line)."""
    codec = compression_of(name)
    if codec == "gzip":
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    if codec == "bz2":
        return bz2.BZ2File(stream, mode="rb")  # type: ignore[return-value]
    if codec == "zstd":
        zstd: BinaryIO = pa.CompressedInputStream(pa.PythonFile(stream, mode="r"), "zstd")
        return zstd
    return stream


def local_sources(source: str) -> list[SourceFile]:
    """A folder (every file in it, recursively), a glob, or one file; sorted. In a folder a link
    to a file outside it is refused: a source must not reach into the rest of the machine."""
    path = Path(source)
    if path.is_dir():
        root = path.resolve()
        candidates = sorted(p for p in path.rglob("*") if p.is_file())
        outside = [p for p in candidates if not p.resolve().is_relative_to(root)]
        if outside:
            raise DataQualityError(
                f"source {source}: {outside[0]} is a link to {outside[0].resolve()}, outside the source folder; "
                "copy the file in, or point [source] path at it"
            )
    elif any(ch in source for ch in "*?["):
        candidates = sorted(Path(p) for p in glob.glob(source, recursive=True) if Path(p).is_file())
    elif path.is_file():
        candidates = [path]
    else:
        raise DataQualityError(f"source {source} does not exist")
    by_name = {str(p): p for p in candidates}
    files = [by_name[name] for name in readable(source, by_name)]

    def opener(file: Path) -> Callable[[], BinaryIO]:
        return lambda: file.open("rb")

    return [SourceFile(str(p), p.stat().st_size, str(p.stat().st_mtime_ns), opener(p), local_path=p) for p in files]


def source_files(source: str) -> list[Path]:
    """The local files a run reads, in order."""
    return [f.local_path for f in local_sources(source) if f.local_path is not None]
