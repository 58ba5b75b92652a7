"""The DuckDB engine against real files: ingest, CTAS-like materialise, query, sample."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from adapters.local.duckdb_engine import DuckDBSqlEngine
from domain.errors import DataQualityError, QueryError
from domain.ports.sql_engine import TableRef

RAW = TableRef("raw", "runs/r/raw/")


@pytest.fixture
def engine(tmp_path: Path) -> DuckDBSqlEngine:
    return DuckDBSqlEngine(tmp_path / "lake")


def write(path: Path, lines: list[bytes], *, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def test_ingest_numbers_every_line_of_every_file(engine: DuckDBSqlEngine, tmp_path: Path) -> None:
    write(tmp_path / "in" / "a.jsonl", [b'{"id": 1}', b'{"id": 2}'])
    write(tmp_path / "in" / "b.jsonl.gz", [b'{"id": 3}', b"", b"\xff\xfe"], gz=True)
    write(tmp_path / "in" / "_SUCCESS.json", [b"{}"])  # a marker, not data
    stats = engine.ingest_lines(str(tmp_path / "in"), RAW)
    assert (stats.files, stats.lines) == (2, 5)
    rows = engine.query(
        "SELECT source_file, line_number, problem FROM {{ raw }} ORDER BY source_file, line_number",
        {"raw": RAW},
        sql_name="t",
    ).to_pylist()
    assert [(Path(r["source_file"]).name, r["line_number"], r["problem"]) for r in rows] == [
        ("a.jsonl", 1, None),
        ("a.jsonl", 2, None),
        ("b.jsonl.gz", 1, None),
        ("b.jsonl.gz", 2, None),  # blank, yet readable text: staging's classification calls it empty
        ("b.jsonl.gz", 3, "invalid_utf8"),
    ]


def test_a_missing_source_is_a_clear_error(engine: DuckDBSqlEngine, tmp_path: Path) -> None:
    with pytest.raises(DataQualityError, match="does not exist"):
        engine.ingest_lines(str(tmp_path / "nowhere"), RAW)


def test_materialize_replaces_and_partitions(engine: DuckDBSqlEngine, tmp_path: Path) -> None:
    write(tmp_path / "in.jsonl", [b'{"id": %d}' % i for i in range(25)])
    engine.ingest_lines(str(tmp_path / "in.jsonl"), RAW)
    target = TableRef("parts", "runs/r/parts/", partitioned_by="batch")
    sql = (
        "SELECT line_number, lpad(CAST(CAST(floor(CAST(line_number - 1 AS double) / 10) AS bigint) AS varchar), "
        "5, '0') AS batch FROM {{ raw }}"
    )
    stats = engine.materialize(target, sql, {"raw": RAW}, sql_name="t")
    stats_again = engine.materialize(target, sql, {"raw": RAW}, sql_name="t")  # replaces, does not append
    assert stats.rows == stats_again.rows == 25
    folders = sorted(p.name for p in (engine.root / "runs/r/parts").iterdir())
    assert folders == ["batch=00000", "batch=00001", "batch=00002"]
    counts = engine.query(
        "SELECT batch, count(*) AS n FROM {{ t }} GROUP BY batch ORDER BY batch", {"t": target}, sql_name="t"
    ).to_pylist()
    assert [c["n"] for c in counts] == [10, 10, 5]


def test_sample_is_capped_and_repeatable(engine: DuckDBSqlEngine, tmp_path: Path) -> None:
    write(tmp_path / "in.jsonl", [b'{"id": %d}' % i for i in range(1000)])
    engine.ingest_lines(str(tmp_path / "in.jsonl"), RAW)
    sql = "SELECT line_number FROM {{ raw }}"
    first = engine.sample(sql, {"raw": RAW}, rows=100, key="line_number", seed=1, sql_name="t")
    again = engine.sample(sql, {"raw": RAW}, rows=100, key="line_number", seed=1, sql_name="t")
    other = engine.sample(sql, {"raw": RAW}, rows=100, key="line_number", seed=2, sql_name="t")
    assert first.num_rows == 100 and first.equals(again) and not first.equals(other)


def test_a_bad_query_names_its_sql_file(engine: DuckDBSqlEngine, tmp_path: Path) -> None:
    write(tmp_path / "in.jsonl", [b'{"id": 1}'])
    engine.ingest_lines(str(tmp_path / "in.jsonl"), RAW)
    with pytest.raises(QueryError, match=r"^features.sql: DuckDB: .*no_such_column"):
        engine.materialize(
            TableRef("f", "runs/r/f/"), "SELECT no_such_column FROM {{ raw }}", {"raw": RAW}, sql_name="features.sql"
        )
    assert not (engine.root / "runs/r/f").exists()  # nothing half-written is left behind


def test_an_unknown_placeholder_is_refused(engine: DuckDBSqlEngine) -> None:
    with pytest.raises(QueryError, match="unknown table placeholder"):
        engine.query("SELECT * FROM {{ nope }}", {}, sql_name="t")
