"""Container stages an AWS execution ran enter the run's state from whoever watched it."""

from __future__ import annotations

import json

from domain.context import RunContext
from domain.manifest import BatchEntry, Manifest
from domain.run_lifecycle import record_watched_stages
from domain.run_state import RunState, StageRecord
from domain.spec import STAGE_NAMES
from tests.unit.fakes import FakeRunStore


def test_training_and_prediction_are_recorded_in_graph_order_with_the_tasks_reports(ctx: RunContext) -> None:
    store, run_store = ctx.ports.store, ctx.ports.run_store
    assert isinstance(run_store, FakeRunStore)
    card = {"training_rows": 600, "model_version": "abc123", "metrics": {"r2": 0.9, "mae": 1.5}}
    store.put(ctx.layout.model_card_key, json.dumps(card).encode())
    store.put(ctx.layout.manifest_key, Manifest(ctx.run_id, 10, (BatchEntry(0, 10), BatchEntry(1, 7))).to_bytes())
    for batch, rows in ((0, 10), (1, 7)):
        run_store.mark_batch(ctx.run_id, batch, rows)
    state = RunState(run_id=ctx.run_id, fingerprints={}, started_at=0.0, status="SUCCEEDED")
    for name in ("pre_cleanup", "staging", "features", "batch_planning", "results_table", "aggregation"):
        state.stages[name] = StageRecord("SUCCEEDED", 1, 1.0, {"from": "lambda"})

    ended = {"training": (2, 31.5), "prediction": (1, 12.25), "staging": (3, 9.0)}
    record_watched_stages(ctx, state, ended)

    # In the graph's order, as a local run records them (publish and cleanup never ran here).
    assert list(state.stages) == [name for name in STAGE_NAMES if name not in ("publish", "cleanup")]
    assert state.stages["training"] == StageRecord(
        "SUCCEEDED", 2, 31.5, {"training_rows": 600, "model_version": "abc123", "r2": 0.9, "mae": 1.5}
    )
    assert state.stages["prediction"] == StageRecord("SUCCEEDED", 1, 12.25, {"batches": 2, "predicted_rows": 17})
    assert state.stages["staging"].report == {"from": "lambda"}  # a Lambda's own record stays
    saved = run_store.load(ctx.run_id)
    assert saved is not None and list(saved.stages) == list(state.stages)


def test_a_stage_the_execution_did_not_finish_is_not_recorded(ctx: RunContext) -> None:
    state = RunState(run_id=ctx.run_id, fingerprints={}, started_at=0.0, status="FAILED")
    record_watched_stages(ctx, state, {"pre_cleanup": (1, 0.5)})
    assert state.stages == {}
    assert ctx.ports.run_store.load(ctx.run_id) is None  # nothing to add, nothing written
