"""A finished run's ledger (domain/cost/ledger.py): its cost on AWS and the plan beside it.

What each stage used was measured by the run (entrypoints/run_ledger.py gathers it from
run.json, the batch markers and the model card). Here those figures are put in the AWS
execution shape and priced with the prices file of the day; S3 requests are estimated, and
said so. The plan for the run's own source size sits beside the measured cost.
"""

from __future__ import annotations

import os

from adapters.aws.cost_shape import Measured
from adapters.aws.deployment import Deployment
from adapters.aws.run_plan import CostPlan, make_plan
from adapters.shared.rates_file import load_rates
from domain.cost.ledger import Cost, Figure, Ledger, StageUse
from domain.cost.volumes import run_volumes
from domain.run_state import RunState
from domain.spec import PipelineSpec


def cost_ledger(
    spec: PipelineSpec,
    state: RunState,
    uses: dict[str, StageUse],
    backend: str,
    region: str,
    threads: int,
    *,
    transitions: tuple[int | None, str],
    executions: list[str],
) -> Ledger:
    """The ledger of a run whose stages used `uses`. `threads`: per local prediction task;
    `transitions`: the executions' counted transitions (None: estimate them) and how they
    were obtained; `executions`: the AWS executions the run has had."""
    rates, deployment = load_rates(), Deployment()
    volumes = run_volumes(state, rates)
    cores = os.cpu_count() or 1
    measured = _measured(uses, backend, cores, threads, deployment)
    counted, how = transitions
    actual = make_plan(
        spec, volumes.source, region, threads, volumes=volumes, measured=measured, counted_transitions=counted
    )
    estimate = make_plan(spec, volumes.source, region, threads)
    return Ledger(
        backend=backend,
        stages=uses,
        transitions=Figure(actual.aws.transitions, how),
        s3_puts=Figure(actual.aws.usage.s3_puts, "estimated from the run's files, tasks and queries"),
        s3_gets=Figure(actual.aws.usage.s3_gets, "estimated from the run's files, tasks and queries"),
        aws_cost=_cost(actual, backend),
        plan=_plan_figures(estimate, backend),
        executions=executions,
    )


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
