"""The bad-input corpus through real staging (DuckDB, files): every kind of broken input has
a clear outcome, and `source lines = staged + rejected` holds for each file alone and for
all of them mixed together."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import pytest

from adapters.local.duckdb_catalog import DuckDBCatalog
from adapters.local.duckdb_engine import DuckDBSqlEngine
from adapters.local.filesystem_store import FilesystemObjectStore
from adapters.shared.object_store_run_store import ObjectStoreRunStore
from domain.context import Ports, RunContext
from domain.errors import DataQualityError
from domain.services.staging import run_staging
from entrypoints.spec_loader import load_spec
from tests.e2e.projects import houses_project, listing_lines, write_lines
from tests.unit.fakes import FakeEventLog

GOOD = listing_lines(200, seed=9)


def _lines(*lines: bytes) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def _cut_gzip() -> tuple[bytes, int]:
    """A gzip file cut short, and how many lines a reader recovers from it (complete lines
    plus the unfinished last one)."""
    data = gzip.compress(b"".join(b'{"listing_id": "G%d"}\n' % i for i in range(5000)))[:-40]
    recovered = zlib.decompressobj(wbits=31).decompress(data)
    return data, recovered.count(b"\n") + 1


CUT_GZIP, CUT_GZIP_LINES = _cut_gzip()
LONG = b'{"listing_id": "LONG", "note": "' + b"x" * 3_000_000 + b'"}'

# name -> (content, lines in it, reject reasons expected)
CORPUS: dict[str, tuple[bytes, int, dict[str, int]]] = {
    "truncated.jsonl": (_lines(b'{"listing_id": "T1", "rooms": 3', b'{"listing_id": "T2"}'), 2, {"invalid_json": 1}),
    # Wrong types are not rejects: TRY_CAST in staging.sql makes them NULL, and the row is kept.
    "wrong_types.jsonl": (_lines(b'{"listing_id": "W1", "rooms": "three", "area_m2": [1, 2]}'), 1, {}),
    "missing_id.jsonl": (_lines(b'{"rooms": 2}', b'{"listing_id": null}', b"[1, 2]"), 3, {"missing_id": 3}),
    "duplicates.jsonl": (_lines(b'{"listing_id": "D1"}', b'{"listing_id": "D1", "rooms": 9}'), 2, {"duplicate_id": 1}),
    "not_utf8.jsonl": (_lines(b'{"listing_id": "U1", "address": {"city": "Z\xfcrich"}}'), 1, {"invalid_utf8": 1}),
    "empty.jsonl": (b"", 0, {}),
    "blank_lines.jsonl": (_lines(b'{"listing_id": "B1"}', b"", b"   "), 3, {"empty_line": 2}),
    "long_line.jsonl": (_lines(LONG), 1, {}),
    "type_change_a.jsonl": (_lines(b'{"listing_id": "C1", "rooms": 4}'), 1, {}),
    "type_change_b.jsonl": (_lines(b'{"listing_id": "C2", "rooms": {"count": 4}}'), 1, {}),
    "cut.jsonl.gz": (CUT_GZIP, CUT_GZIP_LINES, {"truncated_gzip": 1}),
}


def write_corpus(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(CORPUS[name][0])


def stage(project: Path) -> dict[str, object]:
    spec = load_spec(project / "spec.toml")
    root = Path(spec.output.root)
    store = FilesystemObjectStore(root)
    ports = Ports(DuckDBSqlEngine(root), store, DuckDBCatalog(root), ObjectStoreRunStore(store), FakeEventLog())
    return run_staging(RunContext(spec=spec, run_id="corpus", ports=ports))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    houses_project(tmp_path, rows=0, source={"max_reject_ratio": 1.0})
    write_lines(tmp_path / "data" / "good.jsonl", GOOD)
    return tmp_path


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_bad_file_alone_has_a_clear_outcome(project: Path, name: str) -> None:
    write_corpus(project / "data" / "bad", [name])
    _content, lines, reasons = CORPUS[name]
    report = stage(project)
    assert report["source_lines"] == len(GOOD) + lines
    assert report["reject_reasons"] == reasons
    assert report["staged_rows"] + report["rejected_rows"] == report["source_lines"]  # type: ignore[operator]


def test_all_bad_files_mixed_together_reconcile(project: Path) -> None:
    write_corpus(project / "data" / "bad", sorted(CORPUS))
    report = stage(project)
    expected: dict[str, int] = {}
    for _content, _lines_in, reasons in CORPUS.values():
        for reason, n in reasons.items():
            expected[reason] = expected.get(reason, 0) + n
    assert report["reject_reasons"] == expected
    assert report["source_lines"] == len(GOOD) + sum(lines for _c, lines, _r in CORPUS.values())
    assert report["staged_rows"] + report["rejected_rows"] == report["source_lines"]  # type: ignore[operator]


def test_too_many_rejects_fail_naming_the_file_line_and_reason(tmp_path: Path) -> None:
    houses_project(tmp_path, rows=0, source={"max_reject_ratio": 0.005})
    write_lines(tmp_path / "data" / "good.jsonl", GOOD)
    write_lines(tmp_path / "data" / "zbad.jsonl", ['{"listing_id": "X"', '{"rooms": 1}', '{"listing_id": "Y"}'])
    with pytest.raises(DataQualityError, match=r"2 of 203 .*zbad.jsonl:1: not valid JSON"):
        stage(tmp_path)
