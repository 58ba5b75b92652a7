"""The stage services by name: what the local orchestrator, Lambda handlers and the
container main call. One table, so no entrypoint decides what a stage does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.context import RunContext
from domain.services.aggregation import run_aggregation
from domain.services.batching import load_manifest, run_batch_planning
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
