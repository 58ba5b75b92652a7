"""`batchml run --backend aws`, the CLI side: the spec and its SQL are uploaded for the run,
an execution is started and followed to its end, and the run state the stages wrote is read
back for the summary. moto executes a stand-in state machine of Pass states; what the real
definition does is the parity tests' business (test_state_machine_parity.py)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from rich.console import Console

from domain.errors import SpecError
from domain.run_state import RunState
from entrypoints.aws_launch import run_on_aws
from entrypoints.settings import Settings
from entrypoints.spec_loader import load_spec

HOUSES = Path(__file__).resolve().parents[2] / "e2e" / "houses"
BUCKET = "cli-lake"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "BATCHML_AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("BATCHML_AWS_ENDPOINT_URL", raising=False)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        definition = {
            "StartAt": "pre_cleanup",
            "States": {"pre_cleanup": {"Type": "Pass", "Next": "cleanup"}, "cleanup": {"Type": "Pass", "End": True}},
        }
        arn = boto3.client("stepfunctions").create_state_machine(
            name="batchml", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/sfn"
        )["stateMachineArn"]
        monkeypatch.setenv("BATCHML_STATE_MACHINE_ARN", arn)
        yield arn


def test_the_cli_uploads_the_spec_starts_the_execution_and_reads_the_run_back(aws_env: str, tmp_path: Path) -> None:
    for name in ("spec.toml", "staging.sql", "features.sql"):
        shutil.copy(HOUSES / name, tmp_path / name)
    text = (tmp_path / "spec.toml").read_text().replace('root = "lake"', f'root = "s3://{BUCKET}/lake"')
    (tmp_path / "spec.toml").write_text(text.replace('path = "data"', f'path = "s3://{BUCKET}/source/"'))
    spec = load_spec(tmp_path / "spec.toml")
    s3 = boto3.client("s3")
    run_id = "20261126t000000z-test"
    # What the stages would have written by the end (the Pass states write nothing).
    done = RunState(run_id=run_id, fingerprints=spec.fingerprints(), started_at=time.time(), status="SUCCEEDED")
    s3.put_object(Bucket=BUCKET, Key=f"lake/runs/{run_id}/run.json", Body=json.dumps(done.to_json()).encode())

    console = Console(record=True, width=160)
    state, status = run_on_aws(tmp_path / "spec.toml", spec, Settings.from_environment(backend="aws"), console, run_id)

    assert status == "SUCCEEDED"
    assert state is not None and state.status == "SUCCEEDED"
    uploaded = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"lake/runs/{run_id}/spec/")["Contents"]}
    assert uploaded == {f"lake/runs/{run_id}/spec/{n}" for n in ("spec.toml", "staging.sql", "features.sql")}
    execution = boto3.client("stepfunctions").describe_execution(
        executionArn=aws_env.replace(":stateMachine:", ":execution:") + f":{run_id}"
    )
    assert json.loads(execution["input"]) == {
        "run_id": run_id,
        "spec_uri": f"s3://{BUCKET}/lake/runs/{run_id}/spec/spec.toml",
    }
    assert f"s3://{BUCKET}/lake/runs/{run_id}/spec/spec.toml" in console.export_text()


def test_without_the_state_machine_arn_the_cli_says_what_to_set(
    aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BATCHML_STATE_MACHINE_ARN")
    for name in ("spec.toml", "staging.sql", "features.sql"):
        shutil.copy(HOUSES / name, tmp_path / name)
    spec = load_spec(tmp_path / "spec.toml")
    with pytest.raises(SpecError, match="BATCHML_STATE_MACHINE_ARN is not set"):
        run_on_aws(tmp_path / "spec.toml", spec, Settings.from_environment(backend="aws"), Console(), "r")
