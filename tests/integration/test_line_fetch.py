"""The rejects' text read from block offsets noted at ingest (issue 17): only the rejected
lines are read, and each is the line a whole reading of the file gives."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from adapters.local import duckdb_engine, local_lines
from adapters.local.duckdb_engine import DuckDBSqlEngine
from adapters.local.line_fetch import block_starts, fetch_item, fetch_lines, read_starts
from adapters.local.line_items import LineItem, in_place_lines_sql
from adapters.local.local_lines import local_line_items
from domain.errors import DataQualityError
from domain.ports.sql_engine import TableRef
from domain.services.staging import run_staging
from tests.e2e.projects import houses_project, listing_lines, write_lines
from tests.integration.test_lines_in_place import staging_context

RAW = TableRef("raw", "runs/r/raw/")
# Lines a block boundary may fall next to: empty, blank, multi-byte, quotes and backslashes.
TRICKY = [
    '{"listing_id": "L1"}',
    "",
    "   ",
    '{"listing_id": "é€𝄞", "x": "a\\"b\\\\"}',
    "\t",
    "not json at all",
    "",
    "",
    '{"listing_id": "L2"}  ',
    "[1, 2]",
]


def _ingested(tmp_path: Path, content: bytes, monkeypatch: pytest.MonkeyPatch, block_lines: int) -> LineItem:
    monkeypatch.setattr(local_lines, "BLOCK_LINES", block_lines)
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "f.jsonl").write_bytes(content)
    engine = DuckDBSqlEngine(tmp_path / "lake")
    engine.ingest_lines(str(tmp_path / "data"), RAW)
    [item] = local_line_items(tmp_path / "lake" / "runs/r/raw")
    return item


def _read_whole(item: LineItem) -> list[tuple[object, ...]]:
    with duckdb.connect(config={"threads": 1, "preserve_insertion_order": True}) as conn:
        return conn.execute(f"SELECT * FROM ({in_place_lines_sql(item)}) ORDER BY line_number").fetchall()


@pytest.mark.parametrize("final_newline", [True, False])
@pytest.mark.parametrize("block_lines", [1, 3, 4, 64])
def test_every_fetched_line_is_the_line_a_whole_reading_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block_lines: int, final_newline: bool
) -> None:
    content = "\n".join(TRICKY).encode() + (b"\n" if final_newline else b"")
    item = _ingested(tmp_path, content, monkeypatch, block_lines)
    assert item.offsets is not None and item.block_lines == block_lines
    starts = read_starts(Path(item.offsets), item.blocks)
    assert starts is not None and item.in_place is not None and item.source_file is not None
    whole = _read_whole(item)
    assert len(whole) == len(TRICKY) == item.lines
    fetched = fetch_lines(item.source_file, item.in_place.path, starts, block_lines, range(1, len(TRICKY) + 1))
    assert [tuple(row.values()) for row in fetched.to_pylist()] == whole
    some = fetch_lines(item.source_file, item.in_place.path, starts, block_lines, [10, 2, 6, 2])
    assert some.column("line").to_pylist() == [TRICKY[1], TRICKY[5], TRICKY[9]]


def test_offsets_that_do_not_add_up_to_the_file_are_not_trusted() -> None:
    assert list(block_starts([10, 10, 5], 25) or []) == [0, 10, 20]  # final newline
    assert list(block_starts([10, 10, 5], 24) or []) == [0, 10, 20]  # none after the last line
    assert block_starts([10, 10, 5], 28) is None  # e.g. a byte-order mark the reader dropped


def test_a_line_past_the_counted_ones_or_a_moved_block_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = _ingested(tmp_path, "\n".join(TRICKY).encode() + b"\n", monkeypatch, 4)
    assert item.offsets is not None and item.in_place is not None and item.source_file is not None
    starts = read_starts(Path(item.offsets), item.blocks)
    assert starts is not None
    with pytest.raises(DataQualityError, match="past the lines ingest counted"):
        fetch_lines(item.source_file, item.in_place.path, starts, 4, [11])
    for moved in ([starts[0], starts[1] + 1, starts[2]], [starts[0], starts[1] - 1, starts[2]]):
        with pytest.raises(DataQualityError, match="block 0 is not the 4 whole lines ingest counted there"):
            fetch_lines(item.source_file, item.in_place.path, moved, 4, [1])


REJECTED = ['{"listing_id": "L1-00007"}', "{oops", '{"no_id": 1}', "", "é€"]


def _project(folder: Path) -> Path:
    folder.mkdir()
    houses_project(folder, rows=0, source={"max_reject_ratio": 1.0})
    write_lines(folder / "data" / "a.jsonl", listing_lines(300, seed=1))
    write_lines(folder / "data" / "b.jsonl", [*listing_lines(200, seed=2), *REJECTED, *listing_lines(5, seed=4)])
    return folder


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(local_lines, "BLOCK_LINES", 4)  # small files, yet few rejects per block
    return _project(tmp_path / "p")


def _rejects(ctx: object) -> list[dict[str, object]]:
    engine, layout = ctx.ports.engine, ctx.layout  # type: ignore[attr-defined]
    table = engine.query("SELECT * FROM {{ r }}", {"r": layout.rejects}, sql_name="t")
    return sorted(table.to_pylist(), key=lambda r: (r["source_file"], r["line_number"]))


def test_the_rejects_read_only_the_rejected_lines_and_give_what_reading_the_files_gives(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: every file holding a reject was read whole as text for its rejected lines."""
    engine = DuckDBSqlEngine(project / "lake")
    bound: list[str] = []
    fetched: list[tuple[str, list[int]]] = []
    bind = engine._bind_lines

    def spy_bind(conn: object, view: str, items: list[LineItem]) -> None:
        bound.extend(Path(item.source_file or "").name for item in items)
        bind(conn, view, items)  # type: ignore[arg-type]

    def spy_fetch(source_file: str, path: str, starts: list[int], block_lines: int, wanted: list[int]) -> object:
        fetched.append((Path(source_file).name, sorted(wanted)))
        return fetch_lines(source_file, path, starts, block_lines, wanted)

    monkeypatch.setattr(engine, "_bind_lines", spy_bind)
    monkeypatch.setattr("adapters.local.line_fetch.fetch_lines", spy_fetch)
    ctx = staging_context(project, engine)
    report = run_staging(ctx)
    assert report["reject_reasons"] == {"duplicate_id": 1, "empty_line": 1, "invalid_json": 2, "missing_id": 1}
    assert fetched == [("b.jsonl", [201, 202, 203, 204, 205])]
    # b (a blank line in it: read as text) by the index and the staging SELECT, not the rejects
    assert bound.count("b.jsonl") == 2
    by_offsets = _rejects(ctx)
    assert [r["line"] for r in by_offsets] == REJECTED

    other = _project(project.parent / "whole")
    whole = DuckDBSqlEngine(other / "lake")
    monkeypatch.setattr(duckdb_engine, "item_starts", lambda item, wanted: None)  # every file read whole
    ctx_whole = staging_context(other, whole)
    run_staging(ctx_whole)
    renamed = [
        {k: v.replace("/whole/", "/p/") if isinstance(v, str) else v for k, v in r.items()} for r in _rejects(ctx_whole)
    ]
    assert by_offsets == renamed


def test_a_file_changed_since_ingest_is_an_error_when_its_lines_are_fetched(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = staging_context(project)

    def change_then_fetch(item: LineItem, starts: list[int], wanted: dict[str, list[int]]) -> object:
        path = Path(item.in_place.path)  # type: ignore[union-attr]
        stat = path.stat()
        path.write_bytes(path.read_bytes().replace(b"{oops", b"{OOPS"))  # same size, new content
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        return fetch_item(item, starts, wanted)

    monkeypatch.setattr(duckdb_engine, "fetch_item", change_then_fetch)
    with pytest.raises(DataQualityError, match=r"b\.jsonl changed while the run was staging it"):
        run_staging(ctx)
