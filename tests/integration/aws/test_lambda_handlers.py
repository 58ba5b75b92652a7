"""The Lambda handlers, called as Lambda calls them, with every AWS call going to moto."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import boto3
import pyarrow as pa
import pytest
from moto.moto_api import state_manager

from adapters.aws.asl_states import FUNCTION_RETRYABLE_ERRORS
from adapters.aws.athena_engine import working_table
from adapters.aws.glue_tables import GlueTables
from adapters.aws.s3_store import S3ObjectStore
from domain.errors import QueryError, VerificationError
from domain.layout import RunLayout
from entrypoints import containers, lambda_handlers
from entrypoints.spec_source import upload_spec
from tests.integration.aws.athena_support import athena_backend, put_parquet, sent
from tests.integration.aws.fixtures import BUCKET, PREFIX, write_aws_spec

if TYPE_CHECKING:
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration


@pytest.fixture
def event(
    tmp_path: Path, s3_store: S3ObjectStore, s3_client: S3Client, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("BATCHML_GLUE_DATABASE", "batchml_it")
    containers.aws_client.cache_clear()  # clients of this test's moto, not an earlier one's
    s3_client.create_bucket(Bucket="raw-source")
    s3_client.put_object(Bucket="raw-source", Key="in/a.jsonl", Body=b'{"id": "1"}\n')
    yield {"run_id": "r1", "spec_uri": upload_spec(write_aws_spec(tmp_path), s3_store, "r1")}
    containers.aws_client.cache_clear()


def run_json(store: S3ObjectStore, run_id: str) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(store.get(f"runs/{run_id}/run.json"))
    return state


def test_pre_cleanup_starts_the_run_and_cleanup_ends_it(
    event: dict[str, Any], s3_store: S3ObjectStore, glue_client: GlueClient, capsys: pytest.CaptureFixture[str]
) -> None:
    # An earlier run that died: its intermediate files are leftovers, its record stays.
    s3_store.put("runs/r0/run.json", json.dumps({"run_id": "r0", "started_at": 1.0, "status": "FAILED"}).encode())
    s3_store.put("runs/r0/staging/part-00000.parquet", b"old")
    # ... and the Glue table Athena read them through, which would point at nothing.
    glue = GlueTables(glue_client, "batchml_it", BUCKET, PREFIX)
    glue.ensure_database()
    staging = RunLayout("r0", "age_predictions").staging
    glue.create(glue.table_input(working_table(staging), [("id", "string")], staging.location))
    result = lambda_handlers.pre_cleanup(event, None)
    assert result == {
        "run_id": "r1",
        "stage": "pre_cleanup",
        "objects_deleted": 1,
        "tables_dropped": 1,
        **{"status": "SUCCEEDED", "count": 0, "items_key": "", "bucket": ""},
    }
    state = run_json(s3_store, "r1")
    assert state["status"] == "RUNNING" and state["stages"]["pre_cleanup"]["status"] == "SUCCEEDED"
    assert json.loads(s3_store.get("runs/_lock.json"))["run_id"] == "r1"
    assert not s3_store.exists("runs/r0/staging/part-00000.parquet")
    assert glue.get(working_table(staging)) is None
    assert run_json(s3_store, "r0")["status"] == "ABANDONED"
    # A Step Functions retry of the first stage resumes the run instead of refusing it.
    assert lambda_handlers.pre_cleanup(event, None)["stage"] == "pre_cleanup"

    s3_store.put("runs/r1/features/part-00000.parquet", b"intermediate")
    assert lambda_handlers.cleanup(event, None)["objects_deleted"] == 1
    state = run_json(s3_store, "r1")
    assert state["status"] == "SUCCEEDED" and state["stages"]["cleanup"]["attempts"] == 1
    assert not s3_store.exists("runs/_lock.json")
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert {"run_started", "stage_started", "stage_succeeded", "run_succeeded"} <= {e["event"] for e in events}
    assert all(e["run_id"] == "r1" for e in events)


def test_staging_hands_out_its_ingest_items_then_finishes_when_all_are_done(
    event: dict[str, Any], s3_store: S3ObjectStore, s3_client: S3Client
) -> None:
    """Issue 13, finding 2: the whole source was streamed inside the staging Lambda. Now the
    stage hands its items to a Map (one Lambda each) and finishes once every one is recorded."""
    s3_client.put_object(Bucket="raw-source", Key="in/b.jsonl", Body=b'{"id": "2"}\n{"id": "3"}\n')
    lambda_handlers.pre_cleanup(event, None)
    step = lambda_handlers.staging(event, None)
    assert (step["status"], step["count"], step["bucket"]) == ("INGEST", 2, BUCKET)
    items = json.loads(s3_client.get_object(Bucket=BUCKET, Key=step["items_key"])["Body"].read())
    assert items == [{"item": 0}, {"item": 1}]
    assert run_json(s3_store, "r1")["stages"]["staging"]["status"] == "RUNNING"
    assert lambda_handlers.staging_ingest({**event, "item": 1}, None) == {"run_id": "r1", "item": 1, "lines": 2}
    again = lambda_handlers.staging(event, None)  # item 0 is still to do: only it is handed out
    assert (again["status"], again["count"]) == ("INGEST", 1)
    assert lambda_handlers.staging_ingest({**event, "item": 0}, None)["lines"] == 1
    # Every item done: the stage goes on to its SQL. Moto's Athena runs no SQL, so the line index
    # never appears: a permanent query error, recorded and raised under a name Step Functions matches.
    with pytest.raises(lambda_handlers.PermanentError, match=r"^\[staging\] QueryError: .*no table at s3://"):
        lambda_handlers.staging(event, None)
    record = run_json(s3_store, "r1")["stages"]["staging"]
    assert record["status"] == "FAILED" and record["attempts"] == 1  # one attempt over three invocations
    with pytest.raises(lambda_handlers.PermanentError, match="bad ingest event"):
        lambda_handlers.staging_ingest(event, None)


def test_record_failure_ends_the_run_failed_and_frees_the_root(event: dict[str, Any], s3_store: S3ObjectStore) -> None:
    lambda_handlers.pre_cleanup(event, None)
    cause = {
        "errorMessage": "[staging] QueryError: staging.sql: Athena query q1 FAILED: SYNTAX_ERROR",
        "errorType": "PermanentError",
    }
    failure = {**event, "stage": "staging", "error": {"Error": "PermanentError", "Cause": json.dumps(cause)}}
    assert lambda_handlers.record_failure(failure, None) == {"run_id": "r1", "status": "FAILED", "stage": "staging"}
    state = run_json(s3_store, "r1")
    assert state["status"] == "FAILED"
    assert state["failure"]["stage"] == "staging"
    assert state["failure"]["error"] == f"PermanentError: {cause['errorMessage']}"
    assert not s3_store.exists("runs/_lock.json")


def test_a_resumed_execution_continues_the_failed_run_and_skips_its_finished_stages(
    event: dict[str, Any], s3_store: S3ObjectStore
) -> None:
    lambda_handlers.pre_cleanup(event, None)
    failure = {**event, "stage": "staging", "error": {"Error": "PermanentError", "Cause": "boom"}}
    lambda_handlers.record_failure(failure, None)
    # A new execution of the same run without "resume" is refused: the run exists.
    with pytest.raises(lambda_handlers.PermanentError, match="already exists; pass it to --resume"):
        lambda_handlers.pre_cleanup(event, None)
    # With it (the CLI's --resume), the run continues where it stopped.
    lambda_handlers.pre_cleanup({**event, "resume": True}, None)
    state = run_json(s3_store, "r1")
    assert state["status"] == "RUNNING" and state["failure"] is None
    assert state["stages"]["pre_cleanup"]["attempts"] == 1  # done before: skipped, not run again
    assert json.loads(s3_store.get("runs/_lock.json"))["run_id"] == "r1"


def test_stages_refuse_a_run_that_was_never_started(event: dict[str, Any]) -> None:
    with pytest.raises(lambda_handlers.PermanentError, match="no state"):
        lambda_handlers.features(event, None)
    with pytest.raises(lambda_handlers.PermanentError, match="bad event"):
        lambda_handlers.features({"run_id": "../x"}, None)


def test_errors_are_sorted_by_whether_a_retry_can_help() -> None:
    transient = lambda_handlers._step_functions_error("staging", QueryError("Rate exceeded", transient=True))
    permanent = lambda_handlers._step_functions_error("aggregation", VerificationError("batch 3 missing"))
    assert type(transient).__name__ in FUNCTION_RETRYABLE_ERRORS
    assert type(permanent).__name__ not in FUNCTION_RETRYABLE_ERRORS
    assert str(permanent) == "[aggregation] VerificationError: batch 3 missing"


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (
            {"Error": "TransientError", "Cause": json.dumps({"errorMessage": "[features] boom"})},
            "TransientError: [features] boom",
        ),
        (
            {
                "Error": "States.TaskFailed",
                "Cause": json.dumps(
                    {"Containers": [{"ExitCode": 3}], "StoppedReason": "Essential container in task exited"}
                ),
            },
            "States.TaskFailed: task exit code 3: Essential container in task exited",
        ),
        ({"Error": "States.Timeout", "Cause": "Task timed out"}, "States.Timeout: Task timed out"),
    ],
)
def test_error_text_reads_step_functions_causes(error: dict[str, str], text: str) -> None:
    assert lambda_handlers.error_text(error) == text


def stopped(event: dict[str, Any], status: str, machine: str) -> dict[str, Any]:
    """What EventBridge delivers when an execution of the pipeline changes status."""
    return {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {
            "executionArn": machine.replace(":stateMachine:", ":execution:") + ":r1",
            "stateMachineArn": machine,
            "status": status,
            "input": json.dumps(event),
        },
    }


@pytest.fixture
def machine(aws: None) -> str:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    definition = json.dumps({"StartAt": "wait", "States": {"wait": {"Type": "Wait", "Seconds": 1, "End": True}}})
    arn: str = sfn.create_state_machine(
        name="batchml-pipeline", definition=definition, roleArn="arn:aws:iam::123456789012:role/sfn"
    )["stateMachineArn"]
    return arn


def test_a_stopped_execution_ends_its_run_failed_and_frees_the_root(
    event: dict[str, Any], s3_store: S3ObjectStore, machine: str
) -> None:
    lambda_handlers.pre_cleanup(event, None)
    state = run_json(s3_store, "r1")
    state["stages"]["staging"] = {"status": "RUNNING", "attempts": 1, "seconds": 0.0, "report": {}}
    s3_store.put("runs/r1/run.json", json.dumps(state).encode())  # staging was running when stopped

    assert lambda_handlers.execution_stopped(stopped(event, "SUCCEEDED", machine))["changed"] is False
    garbage = stopped({"not": "ours"}, "ABORTED", machine)  # started by hand with another input
    assert lambda_handlers.execution_stopped(garbage)["changed"] is False
    result = lambda_handlers.execution_stopped(stopped(event, "ABORTED", machine))
    assert result == {"run_id": "r1", "status": "FAILED", "stage": "staging", "changed": True}
    state = run_json(s3_store, "r1")
    assert state["status"] == "FAILED" and state["stages"]["staging"]["status"] == "FAILED"
    assert state["failure"]["error"].startswith("execution ABORTED: arn:aws:states:")
    assert not s3_store.exists("runs/_lock.json")  # a new run may start at once
    # Delivered twice (EventBridge delivers at least once): nothing more happens.
    assert lambda_handlers.execution_stopped(stopped(event, "ABORTED", machine))["changed"] is False


def test_a_stop_is_ignored_while_a_resumed_execution_of_the_run_is_running(
    event: dict[str, Any], s3_store: S3ObjectStore, machine: str
) -> None:
    lambda_handlers.pre_cleanup(event, None)
    # moto here does not execute state machines: the started execution stays RUNNING.
    boto3.client("stepfunctions", region_name="us-east-1").start_execution(
        stateMachineArn=machine, name="r1-resume-1764115200", input=json.dumps({**event, "resume": True})
    )
    result = lambda_handlers.execution_stopped(stopped(event, "TIMED_OUT", machine))
    assert result["changed"] is False and result["running"].endswith(":r1-resume-1764115200")
    assert run_json(s3_store, "r1")["status"] == "RUNNING"
    assert json.loads(s3_store.get("runs/_lock.json"))["run_id"] == "r1"


class LambdaContext:
    """What a Lambda invocation's context tells: the time left before the function is stopped."""

    def __init__(self, seconds_left: float) -> None:
        self.seconds_left = seconds_left

    def get_remaining_time_in_millis(self) -> int:
        return int(self.seconds_left * 1000)


def ctas_statements() -> list[str]:
    return [q for q in sent() if q.startswith("CREATE TABLE")]


def test_a_stage_whose_query_still_runs_returns_and_continues_without_starting_it_twice(
    event: dict[str, Any], s3_store: S3ObjectStore
) -> None:
    """Issue 13, finding 4: a Lambda polled Athena for up to an hour, though Lambda stops at
    900 s. Now it waits briefly, returns RUNNING, and the next invocation finds its query."""
    lambda_handlers.pre_cleanup(event, None)
    put_parquet(s3_store, "runs/r1/staging/part-00000.parquet", pa.table({"id": ["1"], "age": [3.0]}))
    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 1000})
    try:
        # 61.5 s left: the handler keeps a minute's margin, so it waits 1.5 s at most.
        step = lambda_handlers.features(event, LambdaContext(61.5))
        assert step["status"] == "RUNNING"
        assert run_json(s3_store, "r1")["stages"]["features"]["status"] == "RUNNING"
        assert lambda_handlers.features(event, LambdaContext(61.5))["status"] == "RUNNING"
    finally:
        state_manager.unset_transition("athena::execution")
    assert len(ctas_statements()) == 1  # the second invocation followed the first's query
    assert run_json(s3_store, "r1")["stages"]["features"]["attempts"] == 1


@pytest.mark.usefixtures("event")  # the source bucket and the settings
def test_a_stage_past_its_timeout_stops_its_queries_and_fails_for_good(
    tmp_path: Path, s3_store: S3ObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = write_aws_spec(tmp_path / "r2", retry={"features": {"timeout_seconds": 1}})
    event = {"run_id": "r2", "spec_uri": upload_spec(spec, s3_store, "r2")}
    lambda_handlers.pre_cleanup(event, None)
    put_parquet(s3_store, "runs/r2/staging/part-00000.parquet", pa.table({"id": ["1"], "age": [3.0]}))
    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 1000})
    try:
        assert lambda_handlers.features(event, LambdaContext(61.5))["status"] == "RUNNING"
        later = time.time() + 5  # the handler's clock, past the stage's timeout
        monkeypatch.setattr("entrypoints.lambda_handlers.time", SimpleNamespace(time=lambda: later))
        with pytest.raises(lambda_handlers.PermanentError, match=r"timed out after 1s; stopped 1 statement"):
            lambda_handlers.features(event, LambdaContext(61.5))
    finally:
        state_manager.unset_transition("athena::execution")
    (execution,) = [e for e in athena_backend().executions.values() if e.query.startswith("CREATE TABLE")]
    assert execution.status == "CANCELLED"
    assert run_json(s3_store, "r2")["stages"]["features"]["status"] == "FAILED"
