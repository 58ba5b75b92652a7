"""A run's plan: its volumes, its time here, its usage and cost on AWS, the limits it reaches.

Shared by `batchml plan`, the check `batchml run --backend aws` makes before it starts, and
the ledger every run records (entrypoints/run_ledger.py). AWS code (prices, the execution
shape, the limits) is imported only when a plan is made: it is arithmetic, no boto3.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape

from adapters.aws.cost_shape import AwsPlan, Measured, aws_plan
from adapters.aws.costing import PricedPlan, price_plan
from adapters.aws.deployment import Deployment
from adapters.aws.limit_checks import LimitCheck, check_limits
from adapters.aws.prices import prices_for
from adapters.shared.rates_file import load_rates
from domain.cost.local_time import local_stage_seconds
from domain.cost.rates import Rates
from domain.cost.volumes import SourceSize, Volumes, plan_volumes, source_size
from domain.errors import DataQualityError, SpecError
from domain.spec import PipelineSpec
from entrypoints import containers
from entrypoints.settings import AwsSettings, Settings

SAMPLE_LINES = 10_000  # lines read to measure a source's bytes per line
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


def region_for(region: str | None) -> str:
    return region or AwsSettings.from_environment().region


def local_threads(spec: PipelineSpec, settings: Settings) -> int:
    """Threads per local prediction task, as Settings.thread_environment gives them."""
    return int(settings.thread_environment(spec.batches.max_concurrency)["predict"]["OMP_NUM_THREADS"])


def plan_source(spec: PipelineSpec, rows: int | None, source_bytes: int | None, rates: Rates) -> SourceSize:
    """The source's size from the command line, or measured from the spec's own source: its
    files' sizes and the bytes per line of its first lines."""
    if rows is not None or source_bytes is not None:
        flag = "--rows" if rows is not None else "--source-bytes"
        per_line = rates.profile.bytes_per_line
        how = f"{flag}; {per_line:,.0f} bytes per line as in the measured data"
        return source_size(rows, source_bytes, rates, how)
    measured = containers.measure_source(spec.source.path, SAMPLE_LINES)
    if not measured.sampled_lines:
        raise SpecError(f"[source] path: {spec.source.path} holds no lines to plan for")
    per_line = measured.sampled_bytes / measured.sampled_lines
    stored = " stored (compressed)" if measured.compressed else ""
    how = (
        f"measured: {len(measured.object_bytes):,} files, {per_line:,.0f} bytes{stored} per line "
        f"over the first {measured.sampled_lines:,} lines"
    )
    return SourceSize(object_bytes=measured.object_bytes, lines=measured.lines, how=how, compressed=measured.compressed)


def make_plan(
    spec: PipelineSpec,
    source: SourceSize,
    region: str,
    settings: Settings,
    *,
    deployment: Deployment | None = None,
    volumes: Volumes | None = None,
    measured: Measured | None = None,
    counted_transitions: int | None = None,
) -> CostPlan:
    """`volumes`: a finished run's own (the plan otherwise derives them from `source`);
    `measured` and `counted_transitions`: what it recorded, for its ledger."""
    rates = load_rates()
    deployment = deployment or Deployment()
    prices = prices_for(region)
    volumes = volumes or plan_volumes(spec, source, rates)
    cores = os.cpu_count() or 1
    local = local_stage_seconds(volumes, spec, rates, cores, local_threads(spec, settings))
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


def deployed(aws: AwsSettings) -> Deployment:
    """Terraform's defaults, with the scan cap the deployed workgroup really has (a run is
    refused against the cap it would meet, not the default)."""
    cutoff = containers.workgroup_scan_cutoff(aws)
    if cutoff is None:
        return Deployment()
    return Deployment(athena_bytes_scanned_cutoff=cutoff or NO_CUTOFF)


def check_aws_limits(spec: PipelineSpec, settings: Settings, console: Console) -> CostPlan | None:
    """Before an AWS run uploads or starts anything: the plan for the spec's own source, and
    a SpecError naming every limit it would cross and what fixes it. A source that cannot be
    read leaves the limits unchecked, said so: the run's staging names what is wrong with it."""
    aws = AwsSettings.from_environment()
    try:
        source = plan_source(spec, None, None, load_rates())
    except (DataQualityError, FileNotFoundError) as exc:
        console.print(f"[yellow]AWS limits not checked:[/] {escape(str(exc))}", soft_wrap=True)
        return None
    plan = make_plan(spec, source, region_for(None), settings, deployment=deployed(aws))
    if plan.crossed:
        crossed = "; ".join(f"{c.limit}: {c.reaches} > {c.allowed} (fix: {c.fix})" for c in plan.crossed)
        raise SpecError(
            f"this run would cross {len(plan.crossed)} AWS limit(s), so nothing was started: {crossed}. "
            f"`batchml plan SPEC --backend aws` shows every limit checked"
        )
    return plan
