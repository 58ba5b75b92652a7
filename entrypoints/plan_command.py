"""`batchml plan SPEC [--rows N | --source-bytes B] [--backend local|aws] [--region R]`: what a
run would handle, how long it would take, what it would cost on AWS and which AWS limits it
would reach, without running anything. Exits 1 when an AWS run would cross a limit."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from domain.errors import DataQualityError, SpecError
from entrypoints import containers
from entrypoints.arg_types import at_least
from entrypoints.cost_format import about, count, dollars, duration, plural, size
from entrypoints.cost_plan import make_plan, plan_source, region_for
from entrypoints.settings import Settings
from entrypoints.spec_loader import load_spec

if TYPE_CHECKING:
    from entrypoints.containers import CostPlan


def cmd_plan(args: argparse.Namespace, console: Console) -> int:
    spec = load_spec(args.spec)
    settings = Settings.from_environment(backend=args.backend)
    backend = settings.backend_for(spec)
    aws = backend == "aws"
    try:
        source = plan_source(spec, args.rows, args.source_bytes, containers.cost_rates())
    except (DataQualityError, FileNotFoundError) as exc:
        hint = "to plan without reading the source, give its size: --rows N or --source-bytes B"
        raise SpecError(f"{exc}; {hint}") from None
    plan = make_plan(spec, source, region_for(args.region), settings)
    v = plan.volumes
    console.print(
        f"[bold]Plan[/] for {escape(str(args.spec))} on {backend}: {v.source_lines:,} lines, "
        f"{size(v.source.bytes)} ({escape(source.how)})",
        highlight=False,
    )
    console.print(
        f"  {v.staged_rows:,} staged, {v.labelled_rows:,} labelled, {v.scoring_rows:,} to score in "
        f"{plural(v.batches, 'batch')} of <= {v.rows_per_batch:,}; max_concurrency {spec.batches.max_concurrency}",
        highlight=False,
    )
    console.print(_aws_table(plan) if aws else _local_table(plan))
    if aws:
        console.print(_services_table(plan))
    _totals(console, plan, aws, spec.batches.max_concurrency)
    _sources(console, plan, aws)
    if not aws:
        console.print("Limits: AWS limits apply to --backend aws runs (batchml plan SPEC --backend aws)")
        return 0
    _limits(console, plan)
    return 1 if plan.crossed else 0


def _local_table(plan: CostPlan) -> Table:
    grid = Table("stage", "rows", "read", "written", "seconds here", "on AWS", header_style="bold", box=None)
    for stage, usage in plan.aws.plan.stages.items():
        grid.add_row(
            stage,
            count(usage.rows),
            size(usage.bytes_read) if usage.bytes_read else "-",
            size(usage.bytes_written) if usage.bytes_written else "-",
            duration(plan.local_seconds[stage]),
            dollars(plan.aws.by_stage[stage]),
        )
    return grid


def _aws_table(plan: CostPlan) -> Table:
    """Data and time per stage; the services' quantities follow in their own table (two narrow
    tables read at 80 columns, one wide one does not)."""
    grid = Table("stage", "rows", "read", "written", "Athena scan", "wall", "cost", header_style="bold", box=None)
    for stage, u in plan.aws.plan.stages.items():
        grid.add_row(
            stage,
            count(u.rows),
            size(u.bytes_read) if u.bytes_read else "-",
            size(u.bytes_written) if u.bytes_written else "-",
            size(u.athena_bytes_scanned) if u.athena_queries else "-",
            duration(u.wall_seconds),
            dollars(plan.aws.by_stage[stage]),
        )
    return grid


def _services_table(plan: CostPlan) -> Table:
    columns = ("stage", "Lambda calls", "Lambda s", "tasks", "vCPU-s", "GB-s", "transitions", "S3 PUT", "S3 GET")
    grid = Table(*columns, header_style="bold", box=None)
    for stage, u in plan.aws.plan.stages.items():
        grid.add_row(
            stage,
            count(u.lambda_invocations),
            count(u.lambda_seconds),
            count(u.fargate_tasks),
            count(u.fargate_vcpu_seconds),
            count(u.fargate_gb_seconds),
            count(u.transitions),
            count(u.s3_puts),
            count(u.s3_gets),
        )
    return grid


def _totals(console: Console, plan: CostPlan, aws: bool, concurrency: int) -> None:
    priced, rows = plan.aws, max(plan.volumes.source_lines, 1)
    services = ", ".join(f"{name.replace('_', ' ')} {dollars(d)}" for name, d in priced.by_service.items())
    where = f"at {priced.prices.region} prices"
    per_million = dollars(priced.total / rows * 1e6)
    if aws:
        console.print(
            f"[bold]Total on AWS[/]: {dollars(priced.total)} ({per_million} per million lines; {services}), "
            f"{where}; wall time {duration(priced.plan.wall_seconds)} at max_concurrency {concurrency}",
            highlight=False,
        )
    else:
        console.print(
            f"[bold]Total here[/]: {duration(sum(plan.local_seconds.values()))}; on AWS this run would cost "
            f"{about(priced.total)} ({services}), {where}",
            highlight=False,
        )


def _sources(console: Console, plan: CostPlan, aws: bool) -> None:
    console.print(f"Rates: {escape(plan.rates.describe())} (adapters/shared/rates.json)", highlight=False)
    dates = sorted(set(plan.aws.prices.dates.values()))
    console.print(
        f"Prices: adapters/aws/prices.toml, {plan.aws.prices.region}, read {', '.join(dates)}; not priced: "
        "Glue catalog requests, CloudWatch Logs, ECR storage (cents a run)",
        highlight=False,
    )
    if aws:
        for a in containers.plan_assumptions():
            console.print(f"Assumed: {a.value:g} = {escape(a.why)}", highlight=False)


def _limits(console: Console, plan: CostPlan) -> None:
    """One line per limit (they read at any width); what to change under each one not ok."""
    console.print("[bold]AWS limits[/] (each with its AWS page in adapters/aws/limits.py):")
    style = {"ok": "green", "crossed": "bold red", "throttled": "yellow"}
    for check in plan.limits:
        status = f"[{style[check.status]}]{check.status.upper() if check.crossed else check.status:<9}[/]"
        console.print(f"  {status} {escape(check.limit)}: {check.reaches} of {check.allowed}", highlight=False)
        if check.status != "ok":
            console.print(f"            fix: {escape(check.fix)}", highlight=False)
    crossed = plan.crossed
    if crossed:
        console.print(f"[bold red]{len(crossed)} limit(s) crossed[/]: a run would fail; change what each fix names")
    else:
        console.print("Every limit checked fits.")


def add_plan_command(subcommands: Any) -> None:
    plan = subcommands.add_parser(
        "plan", help="estimate a run's time, AWS cost and AWS limits before running it", description=__doc__
    )
    plan.add_argument("spec", type=Path, help="the pipeline's spec file (TOML)")
    size_group = plan.add_mutually_exclusive_group()
    size_group.add_argument("--rows", type=at_least(1), help="plan for this many source lines")
    size_group.add_argument("--source-bytes", type=at_least(1), help="plan for this many bytes of JSON lines")
    plan.add_argument("--backend", choices=containers.BACKENDS, help="default: the spec's [pipeline] backend")
    plan.add_argument("--region", help="the prices file's region (default BATCHML_AWS_REGION or AWS_REGION)")
    plan.set_defaults(func=cmd_plan)
