"""A planned run held to the AWS limits of adapters/aws/limits.py: each check says what the run
reaches, the limit, and what changes it."""

from __future__ import annotations

from adapters.aws import limits
from adapters.aws.cost_shape import aws_plan
from adapters.aws.deployment import GIB, Deployment
from adapters.aws.limit_checks import LimitCheck, check_limits
from domain.cost.volumes import SourceSize, plan_volumes, source_size
from tests.unit.cost_fixtures import rates, spec


def checks(lines: int, deployment: Deployment | None = None, **spec_settings: int) -> dict[str, LimitCheck]:
    r, s, d = rates(), spec(**spec_settings), deployment or Deployment()
    volumes = plan_volumes(s, source_size(lines, None, r, "--rows"), r)
    return {c.limit.split(" (")[0]: c for c in check_limits(aws_plan(volumes, s, r, d), volumes, s, d)}


def test_a_small_run_fits_every_limit() -> None:
    found = checks(100_000, Deployment(athena_bytes_scanned_cutoff=10 * GIB))
    assert not [c for c in found.values() if c.crossed]
    assert all(c.source for c in found.values())


def test_more_prediction_tasks_at_once_than_the_default_vcpu_quota_allows_is_crossed() -> None:
    # 0.5 vCPU a task: 6 vCPUs hold 12 tasks.
    assert not checks(10_000_000, max_concurrency=12, rows_per_batch=100_000)["Fargate On-Demand vCPUs at once"].crossed
    crossed = checks(10_000_000, max_concurrency=13, rows_per_batch=100_000)["Fargate On-Demand vCPUs at once"]
    assert crossed.crossed and crossed.reaches == "6.5"
    assert "[batches] max_concurrency (at most 12" in crossed.fix and "L-3032A538" in crossed.fix
    assert crossed.source == limits.FARGATE_ON_DEMAND_VCPU_DEFAULT.source


def test_more_batches_than_athena_can_write_in_100_statements_of_100_partitions_is_crossed() -> None:
    fits = checks(2_000_000, rows_per_batch=200, max_batches=10_000)["Athena partitions written per CTAS / INSERT INTO"]
    assert not fits.crossed
    over = checks(3_000_000, rows_per_batch=100, max_batches=20_000)["Athena partitions written per CTAS / INSERT INTO"]
    assert over.crossed and "[batches] rows_per_batch" in over.fix


def test_a_query_scanning_more_than_the_workgroup_cap_is_crossed_naming_the_terraform_variable() -> None:
    cap = "Athena workgroup scan cap"
    # 1,000 bytes a line, raw Parquet a quarter of it: the staging queries read 250 bytes a line and more.
    assert not checks(10_000_000, Deployment(athena_bytes_scanned_cutoff=100 * GIB))[cap].crossed
    crossed = checks(100_000_000, Deployment(athena_bytes_scanned_cutoff=10 * GIB))[cap]
    assert crossed.crossed and "Terraform variable athena_bytes_scanned_cutoff (at least" in crossed.fix


def test_an_ingest_item_past_lambdas_900_seconds_is_crossed() -> None:
    r, s = rates(), spec()
    # A compressed object is one item however large: 200M lines at 200,000 lines a second is 1,000 s.
    for lines, crossed in ((100_000_000, False), (200_000_000, True)):
        source = SourceSize((lines * 1000,), lines, "test", compressed=True)
        volumes = plan_volumes(s, source, r)
        found = {c.limit: c for c in check_limits(aws_plan(volumes, s, r, Deployment()), volumes, s, Deployment())}
        check = found["Lambda timeout (the longest ingest item)"]
        assert check.crossed is crossed
        assert check.reaches == f"{1 + lines / 200_000:,.1f} s"
        assert check.allowed == f"{limits.LAMBDA_TIMEOUT_SECONDS.value:,.0f} s"


def test_invalid_fargate_task_sizes_are_crossed_naming_their_terraform_variables() -> None:
    found = checks(100_000, Deployment(predict_cpu=512, predict_memory_mib=8192))
    size = next(c for name, c in found.items() if name.startswith("Fargate task size") and "predict" in c.limit)
    assert size.crossed and size.fix == "Terraform variables predict_cpu and predict_memory"


def test_launching_more_tasks_at_once_than_fargates_burst_is_throttled_not_crossed() -> None:
    launch = checks(20_000_000, max_concurrency=200, rows_per_batch=50_000)["Fargate task launches at once"]
    assert launch.status == "throttled" and not launch.crossed
