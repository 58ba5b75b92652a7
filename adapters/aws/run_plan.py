"""A run's plan: its volumes, its time here, its usage and cost on AWS, the limits it reaches.

Shared by `batchml plan`, the check `batchml run --backend aws` makes before it starts, and
the ledger every run records (adapters/aws/run_cost.py). It composes the measured rates
(adapters/shared/rates.json), the AWS execution shape (cost_shape.py), one region's prices
(prices.toml) and the AWS limits (limit_checks.py): arithmetic, no boto3. What it needs from
the command (the region, threads per local prediction task, the deployed workgroup's scan cap)
is passed in, so no adapter reads settings (entrypoints/cost_plan.py gathers them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from adapters.aws.cost_shape import AwsPlan, Measured, aws_plan
from adapters.aws.costing import PricedPlan, price_plan
from adapters.aws.deployment import Deployment
from adapters.aws.limit_checks import LimitCheck, check_limits
from adapters.aws.prices import prices_for
from adapters.shared.rates_file import load_rates
from domain.cost.local_time import local_stage_seconds
from domain.cost.rates import Rates
from domain.cost.volumes import SourceSize, Volumes, plan_volumes
from domain.spec import PipelineSpec

NO_CUTOFF = 2**63 - 1  # a workgroup without a scan cap


@dataclass(frozen=True)
class CostPlan:
    volumes: Volumes
    rates: Rates
    local_seconds: dict[str, float]  # per stage, on this machine
    aws: PricedPlan
    limits: list[LimitCheck]

    @property
    def crossed(self) -> list[LimitCheck]:
        return [c for c in self.limits if c.crossed]


def make_plan(
    spec: PipelineSpec,
    source: SourceSize,
    region: str,
    threads: int,
    *,
    deployment: Deployment | None = None,
    volumes: Volumes | None = None,
    measured: Measured | None = None,
    counted_transitions: int | None = None,
) -> CostPlan:
    """`threads`: per local prediction task (Settings.thread_environment gives them);
    `volumes`: a finished run's own (the plan otherwise derives them from `source`);
    `measured` and `counted_transitions`: what it recorded, for its ledger."""
    rates = load_rates()
    deployment = deployment or Deployment()
    prices = prices_for(region)
    volumes = volumes or plan_volumes(spec, source, rates)
    cores = os.cpu_count() or 1
    local = local_stage_seconds(volumes, spec, rates, cores, threads)
    usage: AwsPlan = aws_plan(
        volumes,
        spec,
        rates,
        deployment,
        measured=measured,
        min_billed_bytes=prices.min_billed_bytes_per_query,
        min_billed_seconds=prices("fargate", "min_billed_seconds"),
    )
    priced = price_plan(usage, prices, deployment, counted_transitions)
    return CostPlan(volumes, rates, local, priced, check_limits(usage, volumes, spec, deployment))


def deployment_with_cutoff(cutoff: int | None) -> Deployment:
    """Terraform's defaults, with the scan cap the deployed workgroup really has (a run is
    refused against the cap it would meet, not the default). `cutoff`: the workgroup's cap in
    bytes, 0 if it has none, None if it could not be read (Terraform's default stands)."""
    if cutoff is None:
        return Deployment()
    return Deployment(athena_bytes_scanned_cutoff=cutoff or NO_CUTOFF)
