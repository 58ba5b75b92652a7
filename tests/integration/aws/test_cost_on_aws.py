"""Cost and limits on the AWS path, against moto: `batchml run --backend aws` checks the AWS
limits before it uploads or starts anything, and the run's ledger takes its transitions from
the execution's history and its cost from what the run recorded."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from rich.console import Console

from adapters.aws.deployment import Deployment
from adapters.aws.run_plan import NO_CUTOFF
from domain.run_state import RunState, StageRecord
from entrypoints.aws_launch import run_on_aws
from entrypoints.cli import main
from entrypoints.containers import deployed
from entrypoints.settings import AwsSettings, Settings
from tests.e2e.projects import houses_project, listing_lines
from tests.integration.aws.fixtures import moto_server_env
from tests.integration.aws.test_cli_aws_launch import aws_env, s3_spec  # noqa: F401 - aws_env: a fixture

pytestmark = pytest.mark.integration

SOURCE_BUCKET = "cost-source"
BUCKET = "cli-lake"  # test_cli_aws_launch's


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's server: the source is measured through pyarrow's S3 filesystem, as validate samples it."""
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:batchml"
    with moto_server_env(monkeypatch, BATCHML_STATE_MACHINE_ARN=arn) as url:
        yield url


def test_plan_measures_an_s3_source_its_files_and_its_bytes_per_line(
    endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=SOURCE_BUCKET)
    s3.put_object(Bucket=SOURCE_BUCKET, Key="in/a.jsonl", Body=("\n".join(listing_lines(300)) + "\n").encode())
    s3.put_object(Bucket=SOURCE_BUCKET, Key="in/b.jsonl", Body=("\n".join(listing_lines(300, seed=4)) + "\n").encode())
    spec = houses_project(
        tmp_path, 0, source={"path": f"s3://{SOURCE_BUCKET}/in/"}, output={"root": f"s3://{SOURCE_BUCKET}/lake"}
    )

    assert main(["plan", str(spec), "--backend", "aws"]) == 0

    out = " ".join(capsys.readouterr().out.split())
    # The first 10,000 lines are all 600: the estimate is the count itself.
    assert "on aws: 600 lines" in out and "measured: 2 files," in out
    assert "Every limit checked fits." in out
    assert s3.list_objects_v2(Bucket=SOURCE_BUCKET, Prefix="lake/").get("KeyCount", 0) == 0


def test_an_aws_run_that_would_cross_a_limit_uploads_and_starts_nothing(
    endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=SOURCE_BUCKET)
    s3.put_object(Bucket=SOURCE_BUCKET, Key="in/a.jsonl", Body=("\n".join(listing_lines(400)) + "\n").encode())
    # Batches of one row, 40 tasks at once of 0.5 vCPU: 20 vCPUs, over the default quota of 6.
    spec = houses_project(
        tmp_path,
        0,
        source={"path": f"s3://{SOURCE_BUCKET}/in/"},
        output={"root": f"s3://{SOURCE_BUCKET}/lake"},
        batches={"rows_per_batch": 1, "max_concurrency": 40},
    )

    assert main(["run", str(spec), "--backend", "aws"]) == 2

    error = " ".join(capsys.readouterr().err.split())
    assert "this run would cross 1 AWS limit(s), so nothing was started" in error
    assert "Fargate On-Demand vCPUs at once (prediction): 20.0 > 6 (default quota)" in error
    assert "(fix: [batches] max_concurrency (at most 12 at 0.5 vCPU)" in error
    assert s3.list_objects_v2(Bucket=SOURCE_BUCKET, Prefix="lake/").get("KeyCount", 0) == 0


def test_an_aws_runs_ledger_counts_its_executions_transitions_and_prices_what_it_recorded(
    aws_env: str,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    spec = s3_spec(tmp_path)
    s3 = boto3.client("s3")
    run_id = "20261204t000000z-cost"
    done = RunState(run_id=run_id, fingerprints=spec.fingerprints(), started_at=time.time(), status="SUCCEEDED")
    reports = {
        "staging": {"source_files": 1, "source_lines": 1000, "source_bytes": 200_000, "bytes_scanned": 3 * 10**9},
        "features": {"feature_rows": 990, "labelled_rows": 500, "scoring_rows": 490, "bytes_scanned": 10**9},
        "batch_planning": {"batches": 4, "rows_per_batch": 123, "scoring_rows": 490},
    }
    for stage, report in reports.items():
        done.stages[stage] = StageRecord("SUCCEEDED", 1, 30.0, report)
    s3.put_object(Bucket=BUCKET, Key=f"lake/runs/{run_id}/run.json", Body=json.dumps(done.to_json()).encode())

    state, status = run_on_aws(
        tmp_path / "spec.toml", spec, Settings.from_environment(backend="aws"), Console(), run_id
    )

    assert status == "SUCCEEDED" and state is not None
    saved = RunState.from_json(
        json.loads(s3.get_object(Bucket=BUCKET, Key=f"lake/runs/{run_id}/run.json")["Body"].read())
    )
    ledger = saved.ledger
    assert ledger is not None and ledger.backend == "aws"
    # moto's stand-in state machine: two Pass states, entered once each.
    assert ledger.transitions.value == 2 and "counted in the execution's history" in ledger.transitions.how
    assert ledger.executions == [aws_env.replace(":stateMachine:", ":execution:") + f":{run_id}"]
    assert ledger.stages["staging"].bytes_scanned == 3 * 10**9
    assert ledger.aws_cost is not None and "from what the run recorded" in ledger.aws_cost.how
    # Athena's bytes scanned, as the stages recorded them, priced at $5 per TB.
    assert ledger.aws_cost.by_service["athena"] == pytest.approx(4 * 10**9 / 1e12 * 5, rel=0.05)
    assert ledger.aws_cost.by_service["step_functions"] == pytest.approx(2 / 1000 * 0.025)


def test_the_limits_check_uses_the_deployed_workgroups_scan_cap(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    athena = boto3.client("athena", endpoint_url=endpoint)
    athena.create_work_group(
        Name="capped", Configuration={"BytesScannedCutoffPerQuery": 123_456_789, "EnforceWorkGroupConfiguration": True}
    )
    athena.create_work_group(Name="uncapped", Configuration={})
    monkeypatch.setenv("BATCHML_ATHENA_WORKGROUP", "capped")
    assert deployed(AwsSettings.from_environment()).athena_bytes_scanned_cutoff == 123_456_789
    monkeypatch.setenv("BATCHML_ATHENA_WORKGROUP", "uncapped")
    assert deployed(AwsSettings.from_environment()).athena_bytes_scanned_cutoff == NO_CUTOFF
    monkeypatch.setenv("BATCHML_ATHENA_WORKGROUP", "no-such-workgroup")  # unreadable: Terraform's default
    assert deployed(AwsSettings.from_environment()) == Deployment()


def test_the_cost_models_sql_wait_is_the_lambda_handlers() -> None:
    from entrypoints.lambda_handlers import WAIT_SECONDS

    assert Deployment().sql_wait_seconds == WAIT_SECONDS
