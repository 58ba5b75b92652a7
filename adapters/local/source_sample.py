"""The first lines of a local source, for a dry run (`batchml validate`)."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

from adapters.local.duckdb_engine import source_files


def write_sample(source: str, lines: int, out: Path) -> int:
    """Copy the first `lines` lines of the source (its files in the run's order) into one
    JSON-lines file; returns how many. A gzip file cut short ends its share early: the run
    reports that line, a sample need not."""
    written = 0
    with out.open("wb") as sample:
        for path in source_files(source):
            opener: Any = gzip.open if path.name.endswith(".gz") else open
            try:
                with opener(path, "rb") as lines_in:
                    for line in lines_in:
                        sample.write(line if line.endswith(b"\n") else line + b"\n")
                        written += 1
                        if written == lines:
                            return written
            except (OSError, EOFError):
                continue
    return written
