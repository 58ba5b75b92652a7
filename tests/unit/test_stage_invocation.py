"""One stage spread over invocations (Step Functions): one attempt, one timeout, resumable."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest

from domain.context import RunContext
from domain.errors import StageError, StillRunning
from domain.run_lifecycle import start_run
from domain.run_state import RunState
from domain.services import batching
from domain.stage_invocation import MAX_INGEST_ROUNDS, invoke_stage
from tests.unit.fakes import FakeSqlEngine


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def started(ctx: RunContext) -> RunState:
    return start_run(ctx, 1000.0)


def still_running_features(monkeypatch: pytest.MonkeyPatch, times: int) -> list[int]:
    calls = [0]

    def features(_ctx: RunContext, stage: str, round_number: int) -> Any:
        calls[0] += 1
        if calls[0] <= times:
            raise StillRunning("features: Athena query q1 is still running")
        from domain.pipeline import StepResult

        return StepResult("SUCCEEDED", {"feature_rows": 10})

    monkeypatch.setattr("domain.stage_invocation.run_stage_step", features)
    return calls


def test_a_stage_still_running_keeps_one_attempt_over_its_invocations(
    ctx: RunContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, clock = started(ctx), Clock()
    still_running_features(monkeypatch, times=2)
    assert invoke_stage(ctx, state, "features", clock).status == "RUNNING"
    clock.now += 100
    assert invoke_stage(ctx, state, "features", clock).status == "RUNNING"
    clock.now += 100
    done = invoke_stage(ctx, state, "features", clock)
    assert (done.status, done.report) == ("SUCCEEDED", {"feature_rows": 10})
    record = state.stages["features"]
    assert (record.status, record.attempts, record.seconds) == ("SUCCEEDED", 1, 200.0)


def test_a_stage_past_its_timeout_stops_its_statements_and_fails(
    ctx: RunContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, clock = started(ctx), Clock()
    still_running_features(monkeypatch, times=100)
    invoke_stage(ctx, state, "features", clock)
    clock.now += ctx.spec.retry_for("features").timeout_seconds + 1
    with pytest.raises(StageError, match="timed out after 3600s"):
        invoke_stage(ctx, state, "features", clock)
    assert state.stages["features"].status == "FAILED"
    assert isinstance(ctx.ports.engine, FakeSqlEngine) and ctx.ports.engine.cancelled == 1


def test_a_failed_attempt_is_followed_by_a_new_one(ctx: RunContext, monkeypatch: pytest.MonkeyPatch) -> None:
    state, clock = started(ctx), Clock()

    def failing(_ctx: RunContext, stage: str, round_number: int) -> Any:
        raise RuntimeError("throttled")

    monkeypatch.setattr("domain.stage_invocation.run_stage_step", failing)
    with pytest.raises(RuntimeError):
        invoke_stage(ctx, state, "features", clock)
    still_running_features(monkeypatch, times=0)
    invoke_stage(ctx, state, "features", clock)
    assert state.stages["features"].attempts == 2


def test_staging_hands_out_its_items_then_gives_up_if_they_never_record(ctx: RunContext) -> None:
    engine = ctx.ports.engine
    assert isinstance(engine, FakeSqlEngine)
    engine.lines, engine.items = 10, 3
    state, clock = started(ctx), Clock()
    first = invoke_stage(ctx, state, "staging", clock)
    assert first.status == "INGEST" and first.fan_out is not None and first.fan_out.count == 3
    for _ in range(MAX_INGEST_ROUNDS - 1):
        assert invoke_stage(ctx, state, "staging", clock).status == "INGEST"
    with pytest.raises(StageError, match="still have no record of being done"):
        invoke_stage(ctx, state, "staging", clock)


def test_a_resumed_run_predicts_only_the_batches_without_a_marker(ctx: RunContext) -> None:
    """Issue 13, finding 6: a resume's Map re-read every batch and started a task for each."""
    engine = ctx.ports.engine
    assert isinstance(engine, FakeSqlEngine)
    engine.answer(r"count\(\*\) AS n FROM .* IS NULL", pa.table({"n": [30]}))
    engine.answer(r"GROUP BY batch", pa.table({"batch": ["00000", "00001", "00002"], "n": [10, 10, 10]}))
    state, clock = started(ctx), Clock()
    planned = invoke_stage(ctx, state, "batch_planning", clock)
    assert planned.fan_out is not None and planned.fan_out.count == 3
    ctx.ports.run_store.mark_batch(ctx.run_id, 0, 10)
    ctx.ports.run_store.mark_batch(ctx.run_id, 2, 10)
    resumed = invoke_stage(ctx, state, "batch_planning", Clock(5000.0))  # done: skipped, its list anew
    assert resumed.fan_out is not None and resumed.fan_out.count == 1
    assert json.loads(ctx.ports.store.get(resumed.fan_out.key)) == [{"batch": 1, "rows": 10}]
    assert batching.pending_fan_out(ctx, 7).key.endswith("batches/pending-7.json")
