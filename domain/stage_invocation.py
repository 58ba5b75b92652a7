"""One invocation of a function stage by an orchestrator that calls it again and again (Step
Functions): what the local orchestrator does for a stage in one call, spread over invocations.

An invocation may end three ways: the stage is done (SUCCEEDED); its statements still run
(RUNNING: invoke it again later, it goes on where it is); or it hands out work for a Map to do
first (INGEST: the items still to ingest, then invoke it again). The stage's record in the run's
state spans the invocations: one attempt, its start time, and the stage's timeout counted from
it, whatever each invocation takes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from domain.context import RunContext
from domain.errors import StageError, StillRunning
from domain.fan_out import FanOut
from domain.pipeline import after_stage_fan_out, run_stage_step
from domain.run_lifecycle import record_stage
from domain.run_state import RunState, StageRecord

# A fan-out whose items all ran yet are not all recorded done would loop forever: give up after.
MAX_INGEST_ROUNDS = 5


@dataclass(frozen=True)
class Invocation:
    status: Literal["SUCCEEDED", "RUNNING", "INGEST"]
    report: dict[str, Any]
    fan_out: FanOut | None = None


def invoke_stage(ctx: RunContext, state: RunState, stage: str, clock: Callable[[], float]) -> Invocation:
    now = clock()
    if state.stage_done(stage):  # a resumed run (or a redriven execution) skips finished stages
        ctx.ports.events.emit("stage_skipped", stage=stage, reason="completed earlier in this run")
        return Invocation("SUCCEEDED", state.report(stage), after_stage_fan_out(ctx, stage, int(now)))
    record = state.stages.get(stage)
    timeout = ctx.spec.retry_for(stage).timeout_seconds
    if record is not None and record.status == "RUNNING" and record.started_at is not None:
        if now - record.started_at > timeout:
            stopped = ctx.ports.engine.cancel_running()
            record_stage(ctx, state, stage, StageRecord("FAILED", record.attempts, round(now - record.started_at, 3)))
            raise StageError(stage, f"timed out after {timeout}s; stopped {stopped} statement(s) still running")
    else:
        attempt = record.attempts + 1 if record else 1
        record = StageRecord("RUNNING", attempt, started_at=now)
        record_stage(ctx, state, stage, record)
        ctx.ports.events.emit("stage_started", stage=stage, kind="function", attempt=attempt)
    started = record.started_at if record.started_at is not None else now
    rounds = int(record.report.get("ingest_rounds", 0))
    try:
        step = run_stage_step(ctx, stage, rounds + 1)
    except StillRunning as waiting:
        ctx.ports.events.emit("stage_waiting", stage=stage, reason=str(waiting))
        return Invocation("RUNNING", {})
    except Exception as exc:
        seconds = round(clock() - started, 3)
        record_stage(ctx, state, stage, StageRecord("FAILED", record.attempts, seconds))
        ctx.ports.events.emit("stage_failed", stage=stage, error=str(exc), error_type=type(exc).__name__)
        raise
    if step.status == "INGEST":
        if rounds >= MAX_INGEST_ROUNDS:
            raise StageError(
                stage,
                f"after {rounds} rounds, {step.fan_out.count if step.fan_out else 0} ingest "
                "item(s) still have no record of being done",
            )
        progress = StageRecord("RUNNING", record.attempts, report={"ingest_rounds": rounds + 1}, started_at=started)
        record_stage(ctx, state, stage, progress)
        return Invocation("INGEST", {}, step.fan_out)
    seconds = round(clock() - started, 3)
    record_stage(ctx, state, stage, StageRecord("SUCCEEDED", record.attempts, seconds, step.report, started))
    ctx.ports.events.emit(
        "stage_succeeded", stage=stage, seconds=seconds, attempts=record.attempts, **scalars(step.report)
    )
    return Invocation("SUCCEEDED", step.report, step.fan_out)


_RESERVED = frozenset({"event", "run_id", "stage", "seconds", "attempts", "status"})


def scalars(report: dict[str, Any]) -> dict[str, Any]:
    """What goes into events and back to the orchestrator: scalars only (the full report stays
    in run.json), never the fields set beside them."""
    return {k: v for k, v in report.items() if isinstance(v, (int, float, str, bool)) and k not in _RESERVED}
