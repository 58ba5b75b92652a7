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
from typing import Any

import boto3
import pytest
from moto import mock_aws
from rich.console import Console

from adapters.aws.sfn_launcher import StepFunctionsLauncher
from domain.errors import SpecError
from domain.run_lifecycle import run_fingerprints
from domain.run_state import RunState, StageRecord
from domain.spec import PipelineSpec
from entrypoints import containers
from entrypoints.aws_launch import run_on_aws
from entrypoints.cli import main
from entrypoints.settings import AwsSettings, Settings
from entrypoints.spec_loader import load_spec
from entrypoints.spec_source import load_spec_uri, upload_spec

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
        # The stand-in is not the spec's compilation, which a run refuses (test_deploy.py).
        monkeypatch.setattr(containers, "deployed_differences", lambda *args, **kwargs: [])
        yield arn


def s3_spec(folder: Path) -> PipelineSpec:
    """The houses example with its lake and source in (moto's) S3."""
    for name in ("spec.toml", "staging.sql", "features.sql"):
        shutil.copy(HOUSES / name, folder / name)
    text = (folder / "spec.toml").read_text().replace('root = "lake"', f'root = "s3://{BUCKET}/lake"')
    (folder / "spec.toml").write_text(text.replace('path = "data"', f'path = "s3://{BUCKET}/source/"'))
    boto3.client("s3").put_object(Bucket=BUCKET, Key="source/part-0.jsonl", Body=b'{"id": "1"}\n')
    return load_spec(folder / "spec.toml")


def test_the_cli_uploads_the_spec_starts_the_execution_and_reads_the_run_back(aws_env: str, tmp_path: Path) -> None:
    spec = s3_spec(tmp_path)
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


def test_the_training_stage_the_execution_ran_enters_the_run_state_and_summary(
    aws_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = s3_spec(tmp_path)
    s3 = boto3.client("s3")
    run_id = "20261126t000000z-train"
    done = RunState(run_id=run_id, fingerprints=spec.fingerprints(), started_at=time.time(), status="SUCCEEDED")
    done.stages["features"] = StageRecord("SUCCEEDED", 1, 2.0, {})
    s3.put_object(Bucket=BUCKET, Key=f"lake/runs/{run_id}/run.json", Body=json.dumps(done.to_json()).encode())
    card = {"training_rows": 900, "model_version": "m1", "metrics": {"r2": 0.8}}
    s3.put_object(Bucket=BUCKET, Key=f"lake/runs/{run_id}/model/model_card.json", Body=json.dumps(card).encode())
    # moto's Pass states end no stage: stand in for the translator's report of the training task.
    watch = StepFunctionsLauncher.watch

    def watched(self: StepFunctionsLauncher, execution_arn: str) -> str:
        status = watch(self, execution_arn)
        self.events.emit("stage_succeeded", stage="training", seconds=42.5, attempts=2)
        return status

    monkeypatch.setattr(StepFunctionsLauncher, "watch", watched)
    state, _ = run_on_aws(tmp_path / "spec.toml", spec, Settings.from_environment(backend="aws"), Console(), run_id)
    assert state is not None
    assert list(state.stages) == ["features", "training"]
    assert state.stages["training"] == StageRecord(
        "SUCCEEDED", 2, 42.5, {"training_rows": 900, "model_version": "m1", "r2": 0.8}
    )
    saved = json.loads(s3.get_object(Bucket=BUCKET, Key=f"lake/runs/{run_id}/run.json")["Body"].read())
    assert saved["stages"]["training"]["attempts"] == 2


def failed_run(spec_file: Path, run_id: str) -> None:
    """What an execution that failed leaves: the copy of the spec uploaded when it started, and
    its state (FAILED), whose fingerprints the first stage took from that copy."""
    spec = load_spec(spec_file)
    container = containers.build_container(
        spec, Settings.from_environment(backend="aws"), "", AwsSettings.from_environment()
    )
    own = load_spec_uri(upload_spec(spec_file, container.object_store(), run_id), boto3.client("s3"))
    ctx = containers.run_context(container, own, run_id)
    state = RunState(run_id=run_id, fingerprints=run_fingerprints(ctx), started_at=time.time(), status="FAILED")
    ctx.ports.run_store.save(state)


def executions(arn: str) -> list[dict[str, Any]]:
    sfn = boto3.client("stepfunctions")
    listed = sfn.list_executions(stateMachineArn=arn)["executions"]
    return [dict(sfn.describe_execution(executionArn=e["executionArn"])) for e in listed]


def test_resume_starts_a_new_execution_of_the_same_run_with_its_own_spec(aws_env: str, tmp_path: Path) -> None:
    spec = s3_spec(tmp_path)
    run_id = "20261126t000000z-fail"
    failed_run(tmp_path / "spec.toml", run_id)
    s3 = boto3.client("s3")
    copy = s3.get_object(Bucket=BUCKET, Key=f"lake/runs/{run_id}/spec/spec.toml")["Body"].read()
    console = Console(record=True, width=160)
    state, status = run_on_aws(
        tmp_path / "spec.toml", spec, Settings.from_environment(backend="aws"), console, run_id, resume=True
    )
    assert status == "SUCCEEDED" and state is not None
    (execution,) = executions(aws_env)
    assert execution["name"].startswith(f"{run_id}-resume-")  # a run's first execution took the run id
    spec_uri = f"s3://{BUCKET}/lake/runs/{run_id}/spec/spec.toml"
    assert json.loads(execution["input"]) == {"run_id": run_id, "spec_uri": spec_uri, "resume": True}
    # The run keeps computing what it started with: its spec copy is not replaced.
    assert s3.get_object(Bucket=BUCKET, Key=f"lake/runs/{run_id}/spec/spec.toml")["Body"].read() == copy
    assert "resuming" in console.export_text()


def test_resume_accepts_a_spec_whose_sql_files_were_renamed_when_uploaded(aws_env: str, tmp_path: Path) -> None:
    # SQL files named by absolute path are uploaded under their file names: the run's copy
    # names them differently from the user's spec, and says the same.
    s3_spec(tmp_path)
    text = (tmp_path / "spec.toml").read_text()
    for role in ("staging", "features"):
        text = text.replace(f'{role} = "{role}.sql"', f'{role} = "{tmp_path / (role + ".sql")}"')
    (tmp_path / "spec.toml").write_text(text)
    spec = load_spec(tmp_path / "spec.toml")
    run_id = "20261126t000000z-abs"
    failed_run(tmp_path / "spec.toml", run_id)
    _, status = run_on_aws(
        tmp_path / "spec.toml", spec, Settings.from_environment(backend="aws"), Console(), run_id, resume=True
    )
    assert status == "SUCCEEDED"


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ("succeeded", "already succeeded; there is nothing to resume"),
        ("spec", r"your spec differs from the run's own copy \(s3://cli-lake/lake/runs/.*\) in model "),
        ("source", r"changed since it started: source files"),
        ("no state", "there is no run"),
        ("no spec copy", "has no spec at s3://cli-lake/lake/runs/.*: it was not started on AWS"),
    ],
)
def test_a_resume_that_would_be_refused_starts_no_execution(
    aws_env: str, tmp_path: Path, change: str, refusal: str
) -> None:
    spec = s3_spec(tmp_path)
    run_id = "20261126t000000z-fail"
    if change != "no state":
        failed_run(tmp_path / "spec.toml", run_id)
    s3 = boto3.client("s3")
    if change == "succeeded":
        state = RunState.from_json(
            json.loads(s3.get_object(Bucket=BUCKET, Key=f"lake/runs/{run_id}/run.json")["Body"].read())
        )
        state.status = "SUCCEEDED"
        s3.put_object(Bucket=BUCKET, Key=f"lake/runs/{run_id}/run.json", Body=json.dumps(state.to_json()).encode())
    if change == "spec":
        spec = spec.model_copy(update={"model": spec.model.model_copy(update={"seed": spec.model.seed + 1})})
    if change == "source":
        s3.put_object(Bucket=BUCKET, Key="source/part-1.jsonl", Body=b'{"id": "2"}\n')
    if change == "no spec copy":
        s3.delete_object(Bucket=BUCKET, Key=f"lake/runs/{run_id}/spec/spec.toml")
    with pytest.raises(SpecError, match=refusal):
        run_on_aws(
            tmp_path / "spec.toml", spec, Settings.from_environment(backend="aws"), Console(), run_id, resume=True
        )
    assert executions(aws_env) == []


def test_runs_lists_the_runs_in_the_s3_lake(
    aws_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one table row per line
    s3_spec(tmp_path)
    failed_run(tmp_path / "spec.toml", "20261126t000000z-fail")
    s3 = boto3.client("s3")
    done = RunState(run_id="20261125t000000z-good", fingerprints={}, started_at=1.0, finished_at=61.0)
    done.status = "SUCCEEDED"
    done.stages["training"] = StageRecord("SUCCEEDED", 1, 30.0, {"r2": 0.8123, "interval_coverage": 0.795})
    done.stages["aggregation"] = StageRecord("SUCCEEDED", 1, 5.0, {"result_rows": 1200})
    s3.put_object(Bucket=BUCKET, Key=f"lake/runs/{done.run_id}/run.json", Body=json.dumps(done.to_json()).encode())
    history = {"runs": [done.run_id]}
    s3.put_object(Bucket=BUCKET, Key="lake/results/house_prices/_published.json", Body=json.dumps(history).encode())

    assert main(["runs", str(tmp_path / "spec.toml"), "--backend", "aws"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if "│ 2026" in line]
    assert "20261126t000000z-fail" in rows[0] and "FAILED" in rows[0]  # newest first
    assert "20261125t000000z-good" in rows[1] and "SUCCEEDED" in rows[1] and "shown" in rows[1]
    cells = [cell.strip() for cell in rows[1].split("│")]
    assert {"60.0", "1,200", "0.812", "79.5%"} <= set(cells)
    assert "--resume 20261126t000000z-fail" in " ".join(out.split())


def test_a_bad_model_parameter_stops_an_aws_run_before_anything_is_uploaded_or_started(
    aws_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3_spec(tmp_path)
    spec_file = tmp_path / "spec.toml"
    spec_file.write_text(spec_file.read_text().replace("params = { alpha = 1.0 }", "params = { alpah = 1.0 }"))

    assert main(["run", str(spec_file), "--backend", "aws"]) == 2

    assert "has no parameter 'alpah' (did you mean alpha?)" in capsys.readouterr().err.replace("\n", " ")
    assert executions(aws_env) == []
    listed = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="lake/")
    assert listed.get("Contents", []) == []
