"""The final join in id ranges (domain/services/aggregation.py) gives the same results table
as one join, through the real stages on DuckDB and files."""

from __future__ import annotations

from pathlib import Path

import pytest

import domain.services.aggregation as aggregation
from adapters.local.duckdb_catalog import DuckDBCatalog
from adapters.local.duckdb_engine import DuckDBSqlEngine
from adapters.local.filesystem_store import FilesystemObjectStore
from adapters.shared.object_store_run_store import ObjectStoreRunStore
from domain.context import Ports, RunContext
from domain.services.batching import load_manifest, run_batch_planning
from domain.services.features import run_features
from domain.services.prediction import run_prediction_batch
from domain.services.staging import run_staging
from domain.services.training import run_training
from entrypoints.spec_loader import load_spec
from tests.e2e.projects import houses_project
from tests.unit.fakes import FakeEventLog


def test_aggregation_in_id_ranges_matches_one_join(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = load_spec(houses_project(tmp_path, rows=1200, batches={"rows_per_batch": 100}))
    root = Path(spec.output.root)
    store = FilesystemObjectStore(root)
    engine = DuckDBSqlEngine(root)
    ports = Ports(engine, store, DuckDBCatalog(root), ObjectStoreRunStore(store), FakeEventLog())
    ctx = RunContext(spec=spec, run_id="passes", ports=ports)
    run_staging(ctx)
    run_features(ctx)
    run_training(ctx)
    run_batch_planning(ctx)
    for entry in load_manifest(ctx).batches:
        run_prediction_batch(ctx, entry.batch)
    whole = "SELECT * FROM {{ results }} ORDER BY listing_id"

    one = aggregation.run_aggregation(ctx)
    single = engine.query(whole, {"results": ctx.layout.results}, sql_name="t")
    monkeypatch.setattr(aggregation, "AGGREGATION_PASS_ROWS", 250)
    ranges = aggregation.run_aggregation(ctx)
    in_ranges = engine.query(whole, {"results": ctx.layout.results}, sql_name="t")

    assert (one["passes"], ranges["passes"]) == (1, 5)  # 1200 rows (all staged), 250 per pass
    assert ranges["result_rows"] == one["result_rows"] == 1200
    assert in_ranges.equals(single)
