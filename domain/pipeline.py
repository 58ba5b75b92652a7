"""The stage services by name: what the local orchestrator, Lambda handlers and the
container main call. One table, so no entrypoint decides what a stage does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from domain.context import RunContext
from domain.fan_out import FanOut
from domain.services import ingest
from domain.services.aggregation import run_aggregation
from domain.services.batching import load_manifest, pending_fan_out, run_batch_planning
from domain.services.cleanup import run_cleanup, run_pre_cleanup
from domain.services.features import run_features
from domain.services.prediction import run_prediction_batch
from domain.services.publishing import run_publish, run_results_table
from domain.services.staging import run_staging
from domain.services.training import run_training

StageFunction = Callable[[RunContext], dict[str, Any]]

FUNCTION_STAGES: dict[str, StageFunction] = {
    "pre_cleanup": run_pre_cleanup,
    "staging": run_staging,
    "features": run_features,
    "batch_planning": run_batch_planning,
    "results_table": run_results_table,
    "aggregation": run_aggregation,
    "publish": run_publish,
    "cleanup": run_cleanup,
}


def run_function_stage(ctx: RunContext, stage: str) -> dict[str, Any]:
    return FUNCTION_STAGES[stage](ctx)


@dataclass(frozen=True)
class StepResult:
    """One invocation of a stage where its work fans out (Step Functions): done, or a list of
    items for a Map to run before the stage is invoked again."""

    status: Literal["SUCCEEDED", "INGEST"]
    report: dict[str, Any]
    fan_out: FanOut | None = None


def run_stage_step(ctx: RunContext, stage: str, round_number: int) -> StepResult:
    """The stage's next step: staging first hands out its ingest items still to do (each one
    Lambda invocation), and does the rest once none is left."""
    if stage == "staging":
        todo = ingest.fan_out(ctx, round_number)
        if todo.count:
            return StepResult("INGEST", {}, todo)
    report = run_function_stage(ctx, stage)
    return StepResult("SUCCEEDED", report, after_stage_fan_out(ctx, stage, round_number))


def after_stage_fan_out(ctx: RunContext, stage: str, round_number: int) -> FanOut | None:
    """What a finished stage hands the Map after it, whether it ran now or earlier in the run:
    batch planning, the batches still to predict."""
    return pending_fan_out(ctx, round_number) if stage == "batch_planning" else None


def run_task(
    ctx: RunContext, role: str, batch: int | None = None, elapsed: Callable[[], float] | None = None
) -> dict[str, Any]:
    """The container main's body: `train`, or `predict` one batch. `elapsed`: the task's own
    clock (seconds since it started), recorded with its output for the run's ledger."""
    if role == "train":
        return run_training(ctx, elapsed)
    if role == "predict" and batch is not None:
        return run_prediction_batch(ctx, batch, elapsed)
    raise ValueError(f"unknown task role {role!r} (batch={batch})")


def planned_batches(ctx: RunContext) -> list[int]:
    return [entry.batch for entry in load_manifest(ctx).batches]
