"""A planned run against the AWS limits it depends on (adapters/aws/limits.py): for each, the
value the run would reach, the limit, whether it is crossed, and which spec setting or
Terraform variable changes it. `batchml plan` prints them; `batchml run --backend aws`
refuses to start when one is crossed."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from adapters.aws import limits as aws
from adapters.aws.cost_shape import (
    BATCH_ITEM_STATES,
    INGEST_ITEM_STATES,
    LAMBDA_CALL_SECONDS,
    MAX_INSERT_PARTITIONS,
    AwsPlan,
)
from adapters.aws.deployment import Deployment
from domain.cost.volumes import Volumes
from domain.spec import PipelineSpec

Status = Literal["ok", "crossed", "throttled"]
# JSON of one item in a map's list, as the state carries it: a batch ({"batch": 123, "rows":
# 250000}) or an ingest item (bucket, key, byte range): generous upper bounds.
BATCH_ITEM_BYTES = 40
INGEST_ITEM_BYTES = 1100
EVENTS_PER_STATE = 5  # entered, scheduled, started, succeeded, exited: a Task state's history events
TERRAFORM_VARIABLES = "terraform/variables.tf"
# The page limits.FARGATE_TASK_SIZES names in its comment (the table has no Limit of its own).
TASK_SIZES_SOURCE = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html"


@dataclass(frozen=True)
class LimitCheck:
    limit: str
    reaches: str  # the value the run would reach
    allowed: str  # the limit
    status: Status
    fix: str  # the spec setting or Terraform variable that moves the value
    source: str  # where the limit is documented

    @property
    def crossed(self) -> bool:
        return self.status == "crossed"


def _gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB"


def _check(name: str, reaches: float, allowed: float, shown: tuple[str, str], fix: str, source: str) -> LimitCheck:
    return LimitCheck(name, shown[0], shown[1], "ok" if reaches <= allowed else "crossed", fix, source)


def _map_checks(plan: AwsPlan, spec: PipelineSpec, d: Deployment) -> list[LimitCheck]:
    inline = [n for n in (plan.ingest_items, plan.batches) if n <= d.inline_map_threshold]
    largest_inline = max(inline, default=0)
    payload = max(
        plan.ingest_items * INGEST_ITEM_BYTES if plan.ingest_items <= d.inline_map_threshold else 0,
        plan.batches * BATCH_ITEM_BYTES if plan.batches <= d.inline_map_threshold else 0,
    )
    concurrency = max(spec.batches.max_concurrency, spec.source.ingest_concurrency)
    lim_inline, lim_dmap = aws.SFN_INLINE_MAP_MAX_CONCURRENCY, aws.SFN_DISTRIBUTED_MAP_MAX_CONCURRENCY
    lim_payload, lim_file = aws.SFN_MAX_PAYLOAD_BYTES, aws.SFN_ITEMREADER_MAX_FILE_BYTES
    item_file = max(plan.ingest_items * INGEST_ITEM_BYTES, plan.batches * BATCH_ITEM_BYTES)
    return [
        _check(
            "Step Functions inline Map iterations",
            largest_inline,
            lim_inline.value,
            (f"{largest_inline:,}", f"{lim_inline.value:,.0f}"),
            f"none: above {d.inline_map_threshold} items a map is a Distributed Map",
            lim_inline.source,
        ),
        _check(
            "Distributed Map child executions at once",
            concurrency,
            lim_dmap.value,
            (f"{concurrency:,}", f"{lim_dmap.value:,.0f}"),
            "[batches] max_concurrency, [source] ingest_concurrency",
            lim_dmap.source,
        ),
        _check(
            "Step Functions state payload (an inline Map's item list)",
            payload,
            lim_payload.value,
            (f"{payload / 1024:,.1f} KiB", f"{lim_payload.value / 1024:,.0f} KiB"),
            "none: a Distributed Map reads its items from S3",
            lim_payload.source,
        ),
        _check(
            "Distributed Map item list file",
            item_file,
            lim_file.value * 1e9,
            (f"{item_file / 1e6:,.2f} MB", f"{lim_file.value:,.0f} GB"),
            "[batches] rows_per_batch (fewer batches)",
            lim_file.source,
        ),
    ]


def _athena_checks(plan: AwsPlan, volumes: Volumes, spec: PipelineSpec, d: Deployment) -> list[LimitCheck]:
    largest = max(plan.queries, key=lambda q: q.bytes_scanned)
    longest = max(plan.queries, key=lambda q: q.seconds)
    chunks = max(1, math.ceil(volumes.batches / MAX_INSERT_PARTITIONS))
    partitions = max(chunks, math.ceil(volumes.batches / chunks)) if volumes.batches else 0
    lim_parts, lim_timeout = aws.ATHENA_MAX_PARTITIONS_PER_INSERT_INTO, aws.ATHENA_DML_TIMEOUT_DEFAULT_MINUTES
    cutoff_needed = _gb(largest.bytes_scanned * 1.25)
    return [
        _check(
            f"Athena workgroup scan cap (largest query: {largest.stage} {largest.name})",
            largest.bytes_scanned,
            d.athena_bytes_scanned_cutoff,
            (_gb(largest.bytes_scanned), _gb(d.athena_bytes_scanned_cutoff)),
            f"Terraform variable athena_bytes_scanned_cutoff (at least {cutoff_needed})",
            TERRAFORM_VARIABLES,
        ),
        _check(
            "Athena partitions written per CTAS / INSERT INTO",
            partitions,
            lim_parts.value,
            (f"{partitions:,} ({volumes.batches:,} batches)", f"{lim_parts.value:,.0f}"),
            "[batches] rows_per_batch or max_batches (at most 10,000 batches)",
            lim_parts.source,
        ),
        _check(
            f"Athena DML query timeout (longest query: {longest.stage} {longest.name}, upper bound)",
            longest.seconds,
            lim_timeout.value * 60,
            (f"{longest.seconds / 60:,.1f} min", f"{lim_timeout.value:,.0f} min"),
            "the account's Athena DML query timeout quota (Service Quotas, up to 240 min)",
            lim_timeout.source,
        ),
    ]


def _compute_checks(plan: AwsPlan, volumes: Volumes, spec: PipelineSpec, d: Deployment) -> list[LimitCheck]:
    lim_lambda, lim_conc = aws.LAMBDA_TIMEOUT_SECONDS, aws.LAMBDA_ACCOUNT_CONCURRENCY
    sql_call = d.sql_wait_seconds + LAMBDA_CALL_SECONDS.value
    ingest_at_once = min(plan.ingest_items, spec.source.ingest_concurrency)
    tasks_at_once = min(volumes.batches, spec.batches.max_concurrency)
    vcpus = tasks_at_once * d.predict_vcpu
    lim_vcpu, lim_burst = aws.FARGATE_ON_DEMAND_VCPU_DEFAULT, aws.FARGATE_TASK_LAUNCH_BURST
    max_tasks = math.floor(lim_vcpu.value / d.predict_vcpu)
    checks = [
        _check(
            "Lambda timeout (the longest ingest item)",
            plan.ingest_item_seconds,
            lim_lambda.value,
            (f"{plan.ingest_item_seconds:,.1f} s", f"{lim_lambda.value:,.0f} s"),
            f"[source] ingest_item_mb (now {spec.source.ingest_item_mb:,}): smaller items",
            lim_lambda.source,
        ),
        _check(
            "Lambda timeout (a SQL stage's invocation)",
            sql_call,
            lim_lambda.value,
            (f"{sql_call:,.0f} s", f"{lim_lambda.value:,.0f} s"),
            "none: the state machine waits between invocations",
            lim_lambda.source,
        ),
        _check(
            "Lambda concurrent executions (ingest fan-out)",
            ingest_at_once,
            lim_conc.value,
            (f"{ingest_at_once:,}", f"{lim_conc.value:,.0f}"),
            "[source] ingest_concurrency",
            lim_conc.source,
        ),
        _check(
            "Fargate On-Demand vCPUs at once (prediction)",
            vcpus,
            lim_vcpu.value,
            (f"{vcpus:,.1f}", f"{lim_vcpu.value:,.0f} (default quota)"),
            f"[batches] max_concurrency (at most {max_tasks} at {d.predict_vcpu:g} vCPU), or raise the "
            "Fargate On-Demand vCPU quota (Service Quotas L-3032A538)",
            lim_vcpu.source,
        ),
    ]
    launch = LimitCheck(
        "Fargate task launches at once (burst)",
        f"{tasks_at_once:,}",
        f"{lim_burst.value:,.0f}",
        "ok" if tasks_at_once <= lim_burst.value else "throttled",
        "none needed: throttled launches are retried with backoff; [batches] max_concurrency",
        lim_burst.source,
    )
    sizes = [
        LimitCheck(
            f"Fargate task size ({role}: {cpu} CPU units, {mem} MiB)",
            f"{cpu}/{mem}",
            "a valid Fargate size",
            "ok" if mem in aws.FARGATE_TASK_SIZES.get(cpu, ()) else "crossed",
            f"Terraform variables {role}_cpu and {role}_memory",
            TASK_SIZES_SOURCE,
        )
        for role, cpu, mem in (
            ("train", d.train_cpu, d.train_memory_mib),
            ("predict", d.predict_cpu, d.predict_memory_mib),
        )
    ]
    return [*checks, launch, *sizes]


def _history_check(plan: AwsPlan, d: Deployment) -> LimitCheck:
    """The parent execution's history: a Distributed Map's items run as child executions with
    histories of their own; everything else (the SQL loops, inline maps) lands in the parent's."""
    children = sum(
        items * per_item
        for items, per_item in ((plan.ingest_items, INGEST_ITEM_STATES), (plan.batches, BATCH_ITEM_STATES))
        if items > d.inline_map_threshold
    )
    parent_states = sum(u.transitions for u in plan.stages.values()) - children
    events = parent_states * EVENTS_PER_STATE
    lim = aws.SFN_MAX_HISTORY_EVENTS
    return _check(
        "Step Functions execution history (events)",
        events,
        lim.value,
        (f"{events:,}", f"{lim.value:,.0f}"),
        "none at this size (the SQL loops' rounds grow with query time)",
        lim.source,
    )


def check_limits(plan: AwsPlan, volumes: Volumes, spec: PipelineSpec, deployment: Deployment) -> list[LimitCheck]:
    return [
        *_compute_checks(plan, volumes, spec, deployment),
        *_map_checks(plan, spec, deployment),
        _history_check(plan, deployment),
        *_athena_checks(plan, volumes, spec, deployment),
    ]
