"""Staging without a copy of the source's lines (issue 17): plain files are read where they are,
file by file, and give the rows a whole-table statement gives."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from adapters.local import line_items
from adapters.local.duckdb_catalog import DuckDBCatalog
from adapters.local.duckdb_engine import DuckDBSqlEngine
from adapters.local.filesystem_store import FilesystemObjectStore
from adapters.local.line_items import LineItem
from adapters.local.line_wise import maps_each_row
from adapters.shared.object_store_run_store import ObjectStoreRunStore
from domain.context import Ports, RunContext
from domain.errors import DataQualityError
from domain.ports.sql_engine import TableRef
from domain.services.staging import line_index_sql, rejects_sql, run_staging, valid_records_sql
from domain.sql import substitute
from entrypoints.spec_loader import load_spec
from tests.e2e.projects import houses_project, listing_lines, write_lines
from tests.unit.fakes import FakeEventLog

RAW = TableRef("raw", "runs/r/raw/")


def staging_context(project: Path, engine: DuckDBSqlEngine | None = None) -> RunContext:
    spec = load_spec(project / "spec.toml")
    root = Path(spec.output.root)
    store = FilesystemObjectStore(root)
    ports = Ports(
        engine or DuckDBSqlEngine(root), store, DuckDBCatalog(root), ObjectStoreRunStore(store), FakeEventLog()
    )
    return RunContext(spec=spec, run_id="in-place", ports=ports)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    houses_project(tmp_path, rows=0, source={"max_reject_ratio": 1.0})
    write_lines(tmp_path / "data" / "a.jsonl", listing_lines(300, seed=1))
    write_lines(tmp_path / "data" / "b.jsonl", [*listing_lines(200, seed=2), '{"listing_id": "L1-00007"}', "{oops"])
    write_lines(tmp_path / "data" / "c.jsonl.gz", listing_lines(100, seed=3), gz=True)
    return tmp_path


def test_plain_files_are_read_in_place_and_only_others_are_copied(project: Path) -> None:
    """Before: every line of every file was copied into the run's raw Parquet table."""
    ctx = staging_context(project)
    report = run_staging(ctx)
    assert (report["source_lines"], report["staged_rows"], report["reject_reasons"]) == (
        602,
        600,
        {"duplicate_id": 1, "invalid_json": 1},
    )
    raw = ctx.ports.engine.root / ctx.layout.raw.location  # type: ignore[attr-defined]
    copied = sorted(p.name for p in raw.glob("*.parquet"))
    assert copied == ["part-00002.parquet"]  # the gzip file: DuckDB does not read it exactly
    rejects = ctx.ports.engine.query(
        "SELECT source_file, line_number, reason_code, reason, line FROM {{ r }} ORDER BY line_number",
        {"r": ctx.layout.rejects},
        sql_name="t",
    ).to_pylist()
    assert [(Path(r["source_file"]).name, r["line_number"], r["reason_code"]) for r in rejects] == [
        ("b.jsonl", 201, "duplicate_id"),
        ("b.jsonl", 202, "invalid_json"),
    ]
    assert rejects[0]["line"] == '{"listing_id": "L1-00007"}' and rejects[1]["line"] == "{oops"
    assert "first seen at " in rejects[0]["reason"] and rejects[0]["reason"].endswith("a.jsonl:8)")


def test_each_statement_over_the_lines_gives_the_rows_of_one_statement_over_all(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(line_items, "GROUP_BYTES", 1)  # these small files each on their own
    engine = DuckDBSqlEngine(project / "lake")
    engine.ingest_lines(str(project / "data"), RAW)
    index = TableRef("i", "runs/r/i/")
    by_file = engine.materialize_lines(index, line_index_sql("listing_id"), {"raw": RAW}, lines="raw", sql_name="t")
    whole = engine.query(line_index_sql("listing_id"), {"raw": RAW}, sql_name="t")
    got = engine.query("SELECT * FROM {{ i }}", {"i": index}, sql_name="t")
    key = ["source_file", "line_number"]
    assert by_file.rows == whole.num_rows == 602
    assert got.sort_by([(k, "ascending") for k in key]).equals(whole.sort_by([(k, "ascending") for k in key]))
    assert len(list((engine.root / "runs/r/i").glob("*.parquet"))) == 3  # one part per file


def test_a_staging_select_that_combines_lines_runs_over_all_of_them(project: Path) -> None:
    """Numbering every record with a window must number across files, as one statement does."""
    (project / "staging.sql").write_text(
        "SELECT json_extract_scalar(line, '$.listing_id') AS listing_id,\n"
        "       row_number() OVER (ORDER BY source_file, line_number) AS n\nFROM {{ source }}"
    )
    ctx = staging_context(project)
    run_staging(ctx)
    numbers = ctx.ports.engine.query("SELECT n FROM {{ s }} ORDER BY n", {"s": ctx.layout.staging}, sql_name="t")
    assert numbers.column(0).to_pylist() == list(range(1, 601))


def test_rejects_read_only_the_files_that_hold_a_reject(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = DuckDBSqlEngine(project / "lake")
    read: list[str | None] = []
    bind, bind_typed = engine._bind_lines, engine._bind_typed_lines

    def spy(conn: object, view: str, items: list[LineItem]) -> None:
        read.extend(item.source_file for item in items)
        bind(conn, view, items)  # type: ignore[arg-type]

    def spy_typed(conn: object, view: str, items: list[LineItem], struct_type: str) -> None:
        read.extend(item.source_file for item in items)
        bind_typed(conn, view, items, struct_type)  # type: ignore[arg-type]

    monkeypatch.setattr(engine, "_bind_lines", spy)
    monkeypatch.setattr(engine, "_bind_typed_lines", spy_typed)
    ctx = staging_context(project, engine)
    ctx.ports.engine.ingest_lines(str(project / "data"), ctx.layout.raw)
    names = {Path(f or "").name for f in read}
    assert names == set()  # ingest counts lines; it binds nothing
    run_staging(ctx)
    reads = [Path(f or "").name for f in read]
    # index and staging (as text or through the typed reader); b for its rejects too
    assert reads.count("a.jsonl") == 2 and reads.count("b.jsonl") == 3


def test_a_source_file_changed_during_staging_is_an_error(project: Path) -> None:
    engine = DuckDBSqlEngine(project / "lake")
    engine.ingest_lines(str(project / "data"), RAW)
    path = project / "data" / "a.jsonl"
    stat = path.stat()
    path.write_bytes(path.read_bytes().replace(b"Lyon", b"Nice"))  # same size, new content
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with pytest.raises(DataQualityError, match=r"a\.jsonl changed while the run was staging it"):
        engine.materialize_lines(
            TableRef("i", "runs/r/i/"), line_index_sql("id"), {"raw": RAW}, lines="raw", sql_name="t"
        )


@pytest.mark.parametrize(
    ("sql", "line_wise"),
    [
        (line_index_sql("id"), True),
        (rejects_sql("id"), True),
        (
            substitute(
                "SELECT json_extract_scalar(line, '$.id') AS id FROM {{ source }}", {"source": valid_records_sql()}
            ),
            True,
        ),
        ("SELECT a FROM {{ raw }} CROSS JOIN UNNEST(ARRAY[1, 2]) AS t(s)", True),
        ("SELECT r.a FROM {{ raw }} r LEFT JOIN {{ other }} o ON o.a = r.a", True),
        ("SELECT count(*) FROM {{ raw }}", False),
        ("SELECT row_number() OVER () AS n FROM {{ raw }}", False),
        ("SELECT DISTINCT a FROM {{ raw }}", False),
        ("SELECT a FROM {{ raw }} LIMIT 3", False),
        ("SELECT a FROM {{ raw }} UNION SELECT a FROM {{ other }}", False),
        ("SELECT * FROM {{ raw }} a JOIN {{ raw }} b ON a.x = b.x", False),
        ("SELECT * FROM {{ other }} o LEFT JOIN {{ raw }} r ON o.a = r.a", False),
        ("SELECT * FROM {{ raw }} r RIGHT JOIN {{ other }} o ON o.a = r.a", False),
        ("SELECT * FROM {{ other }} WHERE a IN (SELECT a FROM {{ raw }})", False),
        ("WITH x AS (SELECT * FROM {{ raw }}) SELECT * FROM x", False),
    ],
)
def test_which_statements_may_run_file_by_file(sql: str, line_wise: bool) -> None:
    assert maps_each_row(sql, "raw") is line_wise


def test_many_small_files_are_read_in_a_few_connections_and_parts(tmp_path: Path) -> None:
    """A connection and a part per file cost milliseconds each: 40 small files are one group."""
    houses_project(tmp_path, rows=0)
    for i in range(40):
        write_lines(tmp_path / "data" / f"part-{i:02d}.jsonl", listing_lines(5, seed=i))
    ctx = staging_context(tmp_path)
    report = run_staging(ctx)
    assert (report["source_lines"], report["staged_rows"]) == (200, 200)
    root = ctx.ports.engine.root  # type: ignore[attr-defined]
    assert len(list((root / ctx.layout.line_index.location).glob("*.parquet"))) == 1
    numbers = ctx.ports.engine.query(
        "SELECT source_file, min(line_number) AS first, max(line_number) AS last FROM {{ s }} GROUP BY 1",
        {"s": ctx.layout.line_index},
        sql_name="t",
    ).to_pylist()
    assert len(numbers) == 40 and all((n["first"], n["last"]) == (1, 5) for n in numbers)  # each file from 1
