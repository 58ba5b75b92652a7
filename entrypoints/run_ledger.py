"""Record a finished run's ledger (domain/cost/ledger.py) in its run.json.

Measured: each stage's seconds, rows and bytes scanned (Athena's DataScannedInBytes on AWS,
the local engine's bytes read locally), the tasks' own seconds (batch markers, model card),
the transitions counted in the executions' histories (AWS). Estimated, and said so: S3
requests, and locally, what the AWS services would have used. The AWS cost is priced with
the prices file of the day; the plan for the run's own source size sits beside it (both
computed by adapters/aws/run_cost.py, through the composition root).
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape

from domain.context import RunContext
from domain.cost.ledger import STAGE_ROWS, Ledger, StageUse
from domain.graph import StageKind, build_graph
from domain.run_state import RunState
from entrypoints import containers
from entrypoints.cost_plan import local_threads, region_for
from entrypoints.settings import Settings


def _stage_uses(ctx: RunContext, state: RunState) -> dict[str, StageUse]:
    kinds = {stage.name: stage.kind for stage in build_graph(ctx.spec).stages}
    uses: dict[str, StageUse] = {}
    for name, record in state.stages.items():
        report = record.report
        use = StageUse(
            seconds=record.seconds,
            rows=int(report.get(STAGE_ROWS.get(name, ""), 0) or 0),
            bytes_scanned=int(report.get("bytes_scanned", 0)),
        )
        if kinds.get(name) is StageKind.FUNCTION:
            # A Lambda stage may report its invocations' own seconds; else its wall time stands.
            use.function_seconds = float(report.get("lambda_seconds", record.seconds))
        uses[name] = use
    if "training" in uses:
        card_seconds = _card_seconds(ctx)
        if card_seconds is not None:
            uses["training"].task_seconds, uses["training"].tasks = card_seconds, 1
    if "prediction" in uses:
        batches = ctx.ports.run_store.batch_seconds(ctx.run_id)
        uses["prediction"].task_seconds, uses["prediction"].tasks = round(sum(batches.values()), 3), len(batches)
    return uses


def _card_seconds(ctx: RunContext) -> float | None:
    try:
        card: dict[str, Any] = json.loads(ctx.ports.store.get(ctx.layout.model_card_key))
    except KeyError:
        return None
    seconds = card.get("task_seconds")
    return float(seconds) if seconds is not None else None


def record_ledger(
    ctx: RunContext,
    state: RunState,
    backend: str,
    settings: Settings,
    *,
    execution: str | None = None,
    transitions: tuple[int, str] | None = None,
) -> Ledger:
    """Build the run's ledger, store it in run.json and return it. On AWS, `execution` and its
    counted `transitions` (count, how) add to those of the run's earlier executions."""
    uses = _stage_uses(ctx, state)
    earlier = state.ledger if state.ledger and state.ledger.backend == backend else None
    executions = list(earlier.executions) if earlier else []
    counted: int | None = None
    how = "estimated: the state machine's states for this run's stages, items and batches"
    if transitions is not None and execution is not None:
        before = int(earlier.transitions.value) if earlier and execution not in executions else 0
        counted, how = before + transitions[0], transitions[1]
        executions = [*[e for e in executions if e != execution], execution]
        if len(executions) > 1:
            how += f" (over {len(executions)} executions)"
    threads = local_threads(ctx.spec, settings)
    ledger = containers.cost_ledger(
        ctx.spec, state, uses, backend, region_for(None), threads, transitions=(counted, how), executions=executions
    )
    state.ledger = ledger
    ctx.ports.run_store.save(state)
    return ledger


def record_or_warn(
    console: Console,
    ctx: RunContext,
    state: RunState,
    backend: str,
    settings: Settings,
    *,
    sfn: Any = None,
    execution_arn: str | None = None,
) -> None:
    """The run is over: its ledger is extra, so a failure to record it is said, not raised.
    On AWS (`sfn`, `execution_arn`), the execution's transitions are counted first."""
    try:
        counted: dict[str, Any] = {}
        if sfn is not None and execution_arn is not None:
            counted = {"execution": execution_arn, "transitions": containers.execution_transitions(sfn, execution_arn)}
        record_ledger(ctx, state, backend, settings, **counted)
    except Exception as exc:  # never let the ledger turn a finished run into a failed one
        console.print(f"[yellow]ledger not recorded:[/] {escape(f'{type(exc).__name__}: {exc}')}")
