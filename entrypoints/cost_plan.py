"""What a run's plan needs from the command: the source's size, the region, threads per task.

Shared by `batchml plan`, the check `batchml run --backend aws` makes before it starts, and
the ledger every run records (entrypoints/run_ledger.py). The plan itself (prices, the
execution shape, the limits: adapters/aws/run_plan.py) is made through the composition root,
and its code is imported only when a plan is made: it is arithmetic, no boto3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape

from domain.cost.rates import Rates
from domain.cost.volumes import SourceSize, source_size
from domain.errors import DataQualityError, SpecError
from domain.spec import PipelineSpec
from entrypoints import containers
from entrypoints.settings import AwsSettings, Settings

if TYPE_CHECKING:
    from entrypoints.containers import CostPlan

SAMPLE_LINES = 10_000  # lines read to measure a source's bytes per line


def region_for(region: str | None) -> str:
    return region or AwsSettings.from_environment().region


def local_threads(spec: PipelineSpec, settings: Settings) -> int:
    """Threads per local prediction task, as Settings.thread_environment gives them."""
    return int(settings.thread_environment(spec.batches.max_concurrency)["predict"]["OMP_NUM_THREADS"])


def make_plan(
    spec: PipelineSpec, source: SourceSize, region: str, settings: Settings, *, deployed_at: AwsSettings | None = None
) -> CostPlan:
    """The plan for `source` at `region`'s prices; with `deployed_at`, against the scan cap its
    workgroup really has (else Terraform's defaults)."""
    return containers.cost_plan(spec, source, region, local_threads(spec, settings), deployed_at=deployed_at)


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


def check_aws_limits(spec: PipelineSpec, settings: Settings, console: Console) -> CostPlan | None:
    """Before an AWS run uploads or starts anything: the plan for the spec's own source, and
    a SpecError naming every limit it would cross and what fixes it. A source that cannot be
    read leaves the limits unchecked, said so: the run's staging names what is wrong with it."""
    aws = AwsSettings.from_environment()
    try:
        source = plan_source(spec, None, None, containers.cost_rates())
    except (DataQualityError, FileNotFoundError) as exc:
        console.print(f"[yellow]AWS limits not checked:[/] {escape(str(exc))}", soft_wrap=True)
        return None
    plan = make_plan(spec, source, region_for(None), settings, deployed_at=aws)
    if plan.crossed:
        crossed = "; ".join(f"{c.limit}: {c.reaches} > {c.allowed} (fix: {c.fix})" for c in plan.crossed)
        raise SpecError(
            f"this run would cross {len(plan.crossed)} AWS limit(s), so nothing was started: {crossed}. "
            f"`batchml plan SPEC --backend aws` shows every limit checked"
        )
    return plan
