"""The final join in id ranges (domain/services/aggregation.py) gives the same results table
as one join, through the real stages on DuckDB and files."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import domain.services.aggregation as aggregation
from adapters.local.duckdb_catalog import DuckDBCatalog
from adapters.local.duckdb_engine import DuckDBSqlEngine
from adapters.local.filesystem_store import FilesystemObjectStore
from adapters.shared.object_store_run_store import ObjectStoreRunStore
from domain.context import Ports, RunContext
from domain.errors import VerificationError
from domain.services.batching import load_manifest, run_batch_planning
from domain.services.features import run_features
from domain.services.prediction import run_prediction_batch
from domain.services.staging import run_staging
from domain.services.training import run_training
from entrypoints.spec_loader import load_spec
from tests.e2e.projects import houses_project
from tests.unit.fakes import FakeEventLog


def _predicted(tmp_path: Path) -> tuple[RunContext, DuckDBSqlEngine]:
    """The houses example through prediction: 1,200 rows, 100 per batch."""
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
    return ctx, engine


@pytest.mark.parametrize("pass_rows", [5_000_000, 250])
def test_an_id_predicted_twice_blocks_publishing_though_every_batch_count_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pass_rows: int
) -> None:
    """Batch 1 scores one of batch 0's ids instead of one of its own: every batch holds its
    rows, yet one id is valued twice and another not by the model. The row count alone
    catches it (aggregation.verify_results: no count of distinct ids), in one pass or several."""
    ctx, _ = _predicted(tmp_path)
    root = Path(ctx.spec.output.root)
    first = pq.read_table(root / ctx.layout.prediction_key(0))
    path = root / ctx.layout.prediction_key(1)
    second = pq.read_table(path)
    ids = second.column("listing_id").to_pylist()
    ids[0] = first.column("listing_id")[0].as_py()
    column = pa.array(ids, second.schema.field("listing_id").type)
    pq.write_table(second.set_column(second.schema.get_field_index("listing_id"), "listing_id", column), path)
    scored = pa.concat_arrays([first.column("listing_id").combine_chunks(), column])
    assert pc.count_distinct(scored).as_py() == len(scored) - 1
    monkeypatch.setattr(aggregation, "AGGREGATION_PASS_ROWS", pass_rows)
    with pytest.raises(VerificationError, match="results hold 1201 rows for 1200 staged records"):
        aggregation.run_aggregation(ctx)


def test_aggregation_in_id_ranges_matches_one_join(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx, engine = _predicted(tmp_path)
    whole = "SELECT * FROM {{ results }} ORDER BY listing_id"

    one = aggregation.run_aggregation(ctx)
    single = engine.query(whole, {"results": ctx.layout.results}, sql_name="t")
    monkeypatch.setattr(aggregation, "AGGREGATION_PASS_ROWS", 250)
    ranges = aggregation.run_aggregation(ctx)
    in_ranges = engine.query(whole, {"results": ctx.layout.results}, sql_name="t")

    assert (one["passes"], ranges["passes"]) == (1, 5)  # 1200 rows (all staged), 250 per pass
    assert ranges["result_rows"] == one["result_rows"] == 1200
    assert in_ranges.equals(single)
