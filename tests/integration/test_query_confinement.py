"""`batchml query` is read-only, reads nothing outside the lake and never blocks a run; the
pipeline's own SQL reads only its inputs (issue 14, finding 8)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from adapters.local.duckdb_catalog import DuckDBCatalog
from adapters.local.duckdb_engine import DuckDBSqlEngine
from domain.errors import QueryError
from domain.ports.sql_engine import TableRef
from domain.services.cleanup import run_cleanup
from domain.services.publishing import run_publish
from tests.integration.lake_runs import TABLE, LocalLake, parquet, write_aggregated_run

pytestmark = pytest.mark.integration


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    root = tmp_path / "lake"
    local = LocalLake(root)
    local.new()
    ctx = local.context("run-a")
    write_aggregated_run(ctx)
    run_publish(ctx)
    run_cleanup(ctx)
    return root


@pytest.mark.parametrize(
    "sql",
    [
        "COPY (SELECT * FROM ages) TO '{outside}/stolen.csv'",
        "COPY (SELECT * FROM ages) TO '{lake}/written-into-the-lake.csv'",
        "CREATE TABLE kept AS SELECT 1",
        "ATTACH '{outside}/other.duckdb'",
        "SET enable_external_access = true",
        "PRAGMA enable_profiling",
    ],
)
def test_query_writes_nothing(lake: Path, tmp_path: Path, sql: str) -> None:
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(QueryError, match="runs SELECT statements only"):
        DuckDBCatalog(lake).query(sql.format(outside=tmp_path, lake=lake))
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('{outside}/secret.txt')",
        "SELECT * FROM read_parquet('{lake}/../elsewhere/*.parquet')",
        "SELECT * FROM glob('/etc/*')",
    ],
)
def test_query_reads_nothing_outside_the_lake(lake: Path, tmp_path: Path, sql: str) -> None:
    (tmp_path / "secret.txt").write_text("secret")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "p.parquet").write_bytes(parquet(pa.table({"x": [1]})))
    with pytest.raises(QueryError, match="disabled by configuration"):
        DuckDBCatalog(lake).query(sql.format(outside=tmp_path, lake=lake))


def test_query_still_reads_the_published_tables_and_a_runs_own(lake: Path) -> None:
    catalog = DuckDBCatalog(lake)
    assert catalog.query(f"SELECT count(*) AS n FROM {TABLE}").to_pylist() == [{"n": 5}]
    assert catalog.query(f"SELECT count(*) AS n FROM {TABLE}_rejects").to_pylist() == [{"n": 1}]
    assert catalog.query("SELECT count(*) AS n FROM rejects", run_id="run-a").to_pylist() == [{"n": 1}]
    assert catalog.query(f"WITH t AS (SELECT * FROM {TABLE}) SELECT max(value) AS m FROM t").to_pylist() == [{"m": 4.0}]


def test_a_long_query_never_holds_the_catalog_a_run_must_write(lake: Path) -> None:
    """A query running longer than the catalog's patience made a concurrent run fail with
    'IO Error: Could not set lock on file'."""
    slow = f"SELECT count(*) AS n FROM {TABLE}, range(400000000) AS r(i) WHERE i % 7 = 3"
    done: list[object] = []
    query = threading.Thread(target=lambda: done.append(DuckDBCatalog(lake).query(slow)))
    query.start()
    time.sleep(0.5)  # the query is under way
    # Another process (as a run is) opens the catalog to write, and gives up quickly.
    writer = subprocess.run(
        [sys.executable, "-c", f"import duckdb; duckdb.connect({str(lake / 'catalog.duckdb')!r}).close()"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    still_running = query.is_alive()
    query.join()
    assert still_running, "the query ended too soon to tell"
    assert writer.returncode == 0, writer.stderr[-500:]
    assert done, "the query failed"


def test_the_pipelines_sql_reads_only_its_own_inputs(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    (root / "runs" / "r1" / "raw").mkdir(parents=True)
    (root / "runs" / "r1" / "raw" / "part-00000.parquet").write_bytes(parquet(pa.table({"line": ['{"id": 1}']})))
    (root / "runs" / "r0" / "staging").mkdir(parents=True)
    (root / "runs" / "r0" / "staging" / "part-00000.parquet").write_bytes(parquet(pa.table({"id": ["x"]})))
    engine = DuckDBSqlEngine(root, threads=1)
    source = {"source": TableRef("raw", "runs/r1/raw/")}
    target = TableRef("staging", "runs/r1/staging/")
    engine.materialize(target, "SELECT line FROM {{ source }}", source, sql_name="staging.sql")  # its input: fine
    for sneaky in (
        "SELECT line FROM {{ source }} UNION ALL SELECT column0 FROM read_csv('/etc/passwd')",
        f"SELECT line FROM {{{{ source }}}} UNION ALL SELECT id FROM read_parquet('{root}/runs/r0/staging/*.parquet')",
    ):
        with pytest.raises(QueryError, match=r"staging\.sql: .*disabled by configuration"):
            engine.materialize(target, sneaky, source, sql_name="staging.sql")
