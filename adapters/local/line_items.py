"""Where the DuckDB engines keep each ingest item's lines: a Parquet part, or the source file.

Ingest used to copy every line into a raw Parquet table that staging read three times: at 1M
lines the copy took 1.4-1.65 s of staging's 5.9 s, and each reading of it parsed the Parquet
again. A plain file DuckDB reads exactly (UTF-8, no carriage return, no U+0001, lines within
the CSV reader's limit) needs no copy: its lines are read where they are, numbered in file
order, whenever a statement reads them. Every other file (compressed, not UTF-8, ...) goes
through the exact Python reader into a Parquet part, as before.

Each item leaves a small JSON record beside its part (or instead of one), written last: the
item's file, its line count, and for a file read in place its path, size and modification
time, checked before each reading so that a file changed during the run is an error, never
other lines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from domain.errors import DataQualityError

# DuckDB's CSV reader as a line reader: one VARCHAR column, no quoting or escaping, only "\n"
# ends a line, and a delimiter (U+0001) that JSON text never holds unescaped. Strict: a file
# with "\r", U+0001 or invalid UTF-8 is an error here, and is read by the exact reader instead.
CSV_AS_LINES = (
    "columns = {'line': 'VARCHAR'}, delim = chr(1), quote = '', escape = '', header = false, "
    "auto_detect = false, new_line = '\\n'"
)
# A line of nothing but the characters DuckDB's JSON reader skips between values (space, tab,
# vertical tab, form feed): it gives no row (tests/integration/test_typed_lines.py). A regular
# expression, not trim(line, ...): that took 1.4 s per 250k-line file against 0.01 s.
JSON_BLANK_LINE = "regexp_full_match(coalesce(line, ''), '[ \\t\\x0b\\x0c]*')"
RECORD_SUFFIX = ".lines.json"
OFFSETS_SUFFIX = ".offsets"
_RECORD = re.compile(r"part-(\d+)\.lines\.json$")
_PART = re.compile(r"part-(\d+)\.parquet$")


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def part_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def record_name(index: int) -> str:
    return f"part-{index:05d}{RECORD_SUFFIX}"


def offsets_name(index: int) -> str:
    return f"part-{index:05d}{OFFSETS_SUFFIX}"


@dataclass(frozen=True)
class InPlace:
    """A source file whose lines are read where they are."""

    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> InPlace:
        stat = path.stat()
        return cls(str(path), stat.st_size, stat.st_mtime_ns)

    def check(self, source_file: str) -> None:
        try:
            now = InPlace.of(Path(self.path))
        except OSError as exc:
            raise DataQualityError(f"source file {source_file} is gone since the run read it: {exc}") from exc
        if now != self:
            raise DataQualityError(
                f"source file {source_file} changed while the run was staging it (size or modification time); "
                "start a new run"
            )


@dataclass(frozen=True)
class LineItem:
    """One ingested item's lines: in the Parquet part `part`, or in the file `in_place`."""

    index: int
    source_file: str | None  # None: a part written before items had records (its file unknown)
    lines: int | None
    part: str | None = None
    in_place: InPlace | None = None
    size: int = 0  # bytes a reading of its lines reads
    # Lines of nothing but JSON whitespace (read in place only; None: not counted). DuckDB's
    # NDJSON reader skips them, so only a file without any is read by it (adapters/local/typed_lines.py).
    blank_lines: int | None = None
    # Where each block of `block_lines` lines starts, for a file read in place (None: not
    # noted): the file of those offsets beside the record (adapters/local/line_fetch.py).
    offsets: str | None = None
    blocks: int = 0
    block_lines: int = 0

    def to_json(self) -> bytes:
        place = None if self.in_place is None else vars(self.in_place)
        record = {
            "source_file": self.source_file,
            "lines": self.lines,
            "in_place": place,
            "blank_lines": self.blank_lines,
            "blocks": self.blocks if self.offsets is not None else None,
            "block_lines": self.block_lines if self.offsets is not None else None,
        }
        return json.dumps(record).encode()

    @property
    def typed_readable(self) -> bool:
        """Whether DuckDB's NDJSON reader reads its lines one row per line, in order."""
        return self.in_place is not None and self.blank_lines == 0


def items_of(records: dict[str, bytes], parts: dict[str, int]) -> list[LineItem]:
    """The items of one raw table from its records (name -> content) and Parquet parts (path ->
    size), by item number. A part with no record (written by an older batchml) is an item too."""
    by_index: dict[int, LineItem] = {}
    part_by_index = {int(m.group(1)): (path, size) for path, size in parts.items() if (m := _PART.search(path))}
    for name, content in records.items():
        found = _RECORD.search(name)
        if found is None:
            continue
        index, data = int(found.group(1)), json.loads(content)
        place = data.get("in_place")
        in_place = None if place is None else InPlace(str(place["path"]), int(place["size"]), int(place["mtime_ns"]))
        part, size = part_by_index.get(index, (None, 0)) if in_place is None else (None, in_place.size)
        blank = data.get("blank_lines")  # absent from records written before it was counted
        blocks = data.get("blocks") if in_place is not None and data.get("block_lines") else None
        by_index[index] = LineItem(
            index,
            str(data["source_file"]),
            int(data["lines"]),
            part,
            in_place,
            size,
            None if blank is None else int(blank),
            None if blocks is None else name.removesuffix(RECORD_SUFFIX) + OFFSETS_SUFFIX,
            int(blocks or 0),
            int(data.get("block_lines") or 0),
        )
    for index, (path, size) in part_by_index.items():
        by_index.setdefault(index, LineItem(index, None, None, path, None, size))
    return [by_index[i] for i in sorted(by_index)]


# A run of small files is read in one connection, into one part: a connection and a part per
# file cost milliseconds each, which thousands of small files would add up to minutes.
GROUP_BYTES = 64 << 20


def item_groups(items: Sequence[LineItem], group_bytes: int | None = None) -> list[list[LineItem]]:
    """Consecutive items in groups of at least `group_bytes` (GROUP_BYTES; one item when it is
    larger)."""
    group_bytes = group_bytes or GROUP_BYTES
    groups: list[list[LineItem]] = []
    size = group_bytes
    for item in items:
        if size >= group_bytes:
            groups.append([])
            size = 0
        groups[-1].append(item)
        size += item.size
    return groups


def in_place_lines_sql(item: LineItem) -> str:
    """The item's file as rows of the raw table. row_number() OVER () with no ORDER BY is
    DuckDB's streaming window: in a one-thread connection that keeps insertion order (the
    engine's per-item connections), the n-th line of the file gets n."""
    assert item.in_place is not None and item.source_file is not None
    return (
        f"SELECT {quote(item.source_file)} AS source_file, row_number() OVER () AS line_number, "
        f"coalesce(line, '') AS line, CAST(NULL AS VARCHAR) AS problem "
        f"FROM read_csv({quote(item.in_place.path)}, {CSV_AS_LINES})"
    )


EMPTY_LINES_SQL = (
    "SELECT CAST(NULL AS VARCHAR) AS source_file, CAST(NULL AS BIGINT) AS line_number, "
    "CAST(NULL AS VARCHAR) AS line, CAST(NULL AS VARCHAR) AS problem WHERE false"
)


def count_in_place(path: Path, block_lines: int) -> tuple[int, int, list[int]]:
    """(lines, blank lines, bytes of each block of `block_lines` lines) of the file as DuckDB's
    line reader reads it, each line's bytes counted with its newline; duckdb.Error if it
    cannot read the file exactly (the caller then copies the file with the exact reader). The
    text is read whole (its length summed), so invalid UTF-8 anywhere is found here, not later.
    Blank: nothing but the whitespace DuckDB's JSON reader skips (space, tab, vertical tab,
    form feed; a carriage return makes the file one to copy). The blocks cost nothing
    measurable: 0.13-0.14 s per 250k-line file either way."""
    with duckdb.connect(":memory:", config={"threads": 1, "preserve_insertion_order": True}) as conn:
        rows = conn.execute(
            f"SELECT (n - 1) // {int(block_lines)} AS block, count(*), sum(strlen(coalesce(line, '')) + 1), "
            f"count(*) FILTER (WHERE {JSON_BLANK_LINE}) "
            f"FROM (SELECT row_number() OVER () AS n, line FROM read_csv({quote(str(path))}, {CSV_AS_LINES})) "
            "GROUP BY block ORDER BY block"
        ).fetchall()
    return sum(int(r[1]) for r in rows), sum(int(r[3]) for r in rows), [int(r[2]) for r in rows]
