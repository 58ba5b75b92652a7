"""Each task measures its own seconds and writes them with its output: a prediction task with
its batch marker, the training task in its model card; cleanup measures the run's tables
before it removes them. The run's ledger is built from these."""

from __future__ import annotations

import json

from domain.context import RunContext
from domain.services.cleanup import run_cleanup
from domain.services.prediction import run_prediction_batch
from domain.services.training import run_training
from tests.unit.fakes import FakeObjectStore, FakeRunStore, FakeSqlEngine
from tests.unit.ml_data import regression_table
from tests.unit.test_prediction_and_aggregation import store_with_batch  # noqa: F401 - a fixture


def test_a_prediction_task_writes_its_own_seconds_with_its_marker(
    ctx: RunContext,
    store_with_batch: FakeObjectStore,  # noqa: F811 - the fixture
) -> None:
    run_prediction_batch(ctx, 1, elapsed=lambda: 2.5)
    run_store = ctx.ports.run_store
    assert isinstance(run_store, FakeRunStore)
    assert run_store.batch_seconds(ctx.run_id) == {1: 2.5}


def test_the_training_task_writes_its_own_seconds_in_the_model_card(ctx: RunContext) -> None:
    engine = ctx.ports.engine
    assert isinstance(engine, FakeSqlEngine)
    engine.answer(r".", regression_table(600))
    run_training(ctx, elapsed=lambda: 7.25)
    card = json.loads(ctx.ports.store.get(ctx.layout.model_card_key))
    assert card["task_seconds"] == 7.25


def test_cleanup_reports_each_tables_bytes_and_files_before_removing_them(ctx: RunContext) -> None:
    store = ctx.ports.store
    store.put(ctx.layout.raw.location + "part-0.parquet", b"x" * 100)
    store.put(ctx.layout.raw.location + "part-1.parquet", b"x" * 50)
    store.put(ctx.layout.staging.location + "data_0.parquet", b"x" * 7)
    store.put(ctx.layout.rejects.location + "data_0.parquet", b"x" * 3)
    report = run_cleanup(ctx)
    assert report["table_bytes"]["raw"] == 150 and report["table_files"]["raw"] == 2
    assert report["table_bytes"]["staging"] == 7 and report["table_bytes"]["rejects"] == 3
    assert report["table_bytes"]["predictions"] == 0
    assert store.exists(ctx.layout.rejects.location + "data_0.parquet")  # rejects stay, measured all the same
    assert not store.exists(ctx.layout.raw.location + "part-0.parquet")
