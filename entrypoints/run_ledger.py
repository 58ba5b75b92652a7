"""Record a finished run's ledger (domain/cost/ledger.py) in its run.json.

Measured: each stage's seconds, rows and bytes scanned (Athena's DataScannedInBytes on AWS,
the local engine's bytes read locally), the tasks' own seconds (batch markers, model card),
the transitions counted in the executions' histories (AWS). Estimated, and said so: S3
requests, and locally, what the AWS services would have used. The AWS cost is priced with
the prices file of the day; the plan for the run's own source size sits beside it.
"""

from __future__ import annotations

import json
import os
from typing import Any

from rich.console import Console
from rich.markup import escape

from adapters.aws.cost_shape import Measured
from adapters.aws.deployment import Deployment
from adapters.shared.rates_file import load_rates
from domain.context import RunContext
from domain.cost.ledger import Cost, Figure, Ledger, StageUse
from domain.cost.volumes import run_volumes
from domain.graph import StageKind, build_graph
from domain.run_state import RunState
from entrypoints.cost_plan import CostPlan, local_threads, make_plan, region_for
from entrypoints.settings import Settings

# The report key that counts what each stage worked on.
STAGE_ROWS = {
    "staging": "source_lines",
    "features": "feature_rows",
    "training": "training_rows",
    "batch_planning": "scoring_rows",
    "prediction": "predicted_rows",
    "aggregation": "result_rows",
}


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


def _measured(uses: dict[str, StageUse], backend: str, cores: int, threads: int, d: Deployment) -> Measured:
    """On AWS the tasks ran on the task definitions' vCPUs; a local task's seconds are scaled
    from the cores it had (training: all of them; prediction: its threads) to those vCPUs."""
    train, predict = uses.get("training"), uses.get("prediction")
    local = backend != "aws"
    train_scale = cores / d.train_vcpu if local else 1.0
    predict_scale = threads / d.predict_vcpu if local else 1.0
    return Measured(
        athena_bytes={n: u.bytes_scanned for n, u in uses.items() if u.bytes_scanned},
        stage_seconds={} if local else {n: u.seconds for n, u in uses.items()},
        train_seconds=train.task_seconds * train_scale if train and train.tasks else None,
        predict_seconds=(predict.task_seconds * predict_scale, predict.tasks) if predict and predict.tasks else None,
    )


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
    rates, deployment = load_rates(), Deployment()
    uses = _stage_uses(ctx, state)
    volumes = run_volumes(state, rates)
    cores = os.cpu_count() or 1
    measured = _measured(uses, backend, cores, local_threads(ctx.spec, settings), deployment)
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
    region = region_for(None)
    actual = make_plan(
        ctx.spec, volumes.source, region, settings, volumes=volumes, measured=measured, counted_transitions=counted
    )
    estimate = make_plan(ctx.spec, volumes.source, region, settings)
    ledger = Ledger(
        backend=backend,
        stages=uses,
        transitions=Figure(actual.aws.transitions, how),
        s3_puts=Figure(actual.aws.usage.s3_puts, "estimated from the run's files, tasks and queries"),
        s3_gets=Figure(actual.aws.usage.s3_gets, "estimated from the run's files, tasks and queries"),
        aws_cost=_cost(actual, backend),
        plan=_plan_figures(estimate, backend),
        executions=executions,
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
            from adapters.aws.sfn_transitions import count_transitions

            found = count_transitions(sfn, execution_arn)
            counted = {"execution": execution_arn, "transitions": (found.total, found.describe())}
        record_ledger(ctx, state, backend, settings, **counted)
    except Exception as exc:  # never let the ledger turn a finished run into a failed one
        console.print(f"[yellow]ledger not recorded:[/] {escape(f'{type(exc).__name__}: {exc}')}")


def _cost(plan: CostPlan, backend: str) -> Cost:
    priced = plan.aws
    if backend == "aws":
        how = "from what the run recorded: Athena's bytes scanned, the tasks' own seconds, the stages' times"
    else:
        how = "this run's sizes, bytes read and task seconds, in the AWS execution shape"
    return Cost(
        total=round(priced.total, 6),
        by_service={k: round(v, 6) for k, v in priced.by_service.items()},
        region=priced.prices.region,
        prices=priced.prices.describe(),
        how=how,
    )


def _plan_figures(plan: CostPlan, backend: str) -> dict[str, float]:
    """The plan's wall time (here, or on AWS for an AWS run), per stage and in all, and its cost."""
    if backend == "aws":
        stages = {stage: usage.wall_seconds for stage, usage in plan.aws.plan.stages.items()}
    else:
        stages = plan.local_seconds
    figures = {"wall_seconds": round(sum(stages.values()), 3), "aws_cost_usd": round(plan.aws.total, 6)}
    figures.update({f"{stage}_seconds": round(seconds, 3) for stage, seconds in stages.items()})
    return figures
