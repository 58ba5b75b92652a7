"""Parity: the compiled state machine and the local orchestrator walk the same stages.

The committed definition (`terraform/statemachine/pipeline.asl.json`) runs in LocalStack's
Step Functions (host mode, `scripts/localstack.sh`), with Lambda and ECS answers mocked per
scenario (SFN_MOCK_CONFIG) and S3 real: the Map's item reader, the inline map's GetObject and
the result writer all work on LocalStack's S3. The same scenario runs through the local
orchestrator with scripted stage functions and a scripted task runner. Both must show the
same stage sequence, the same retries per stage and the same end; and the Step Functions
launcher, reading the execution's history, must report the same events the local run emitted.

LocalStack cannot throw `States.*` errors from a mocked response, so a failed ECS task is
mocked under another name with the cause Step Functions gives a stopped task (its description,
exit code included): the state machine's retry loop reads the exit code as it would on AWS.
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import localstack_client.session as localstack_session
import pytest

from adapters.aws.sfn_launcher import StepFunctionsLauncher
from adapters.aws.state_machine import TEMPLATE_VARIABLES, failed_stage, stage_of_state, substitute_template
from adapters.local.filesystem_store import FilesystemObjectStore
from adapters.local.orchestrator import LocalOrchestrator
from adapters.shared.object_store_run_store import ObjectStoreRunStore
from domain.context import Ports, RunContext
from domain.errors import QueryError, VerificationError
from domain.graph import StageKind, build_graph
from domain.ports.event_log import EventLog
from domain.ports.task_runner import PERMANENT_EXIT_CODE, TaskOutcome, TaskRunner, TaskSpec
from domain.run_lifecycle import start_run
from domain.spec import STAGE_NAMES, PipelineSpec
from entrypoints.spec_loader import load_spec
from tests.integration.aws.limits_harness import check_history

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "scripts" / "localstack.sh"
EXAMPLE_SPEC = ROOT / "examples" / "age" / "spec.toml"
RENDERED = ROOT / "terraform" / "statemachine" / "pipeline.asl.json"
MACHINE, BUCKET, REGION, ACCOUNT = "pipeline", "batchml-parity", "us-east-1", "000000000000"
RUN_LIMIT_SECONDS = 90.0
TIMINGS: dict[str, float] = {}


# The Lambda handlers turn whatever a stage raises into TransientError or PermanentError (by
# domain.retry.is_retryable); Step Functions sees that class name. Locally the stage's own
# exception travels: one of each kind stands for them here.
LOCAL_ERRORS: dict[str, Callable[[str], Exception]] = {
    "TransientError": lambda stage: QueryError(f"[{stage}] Athena throttled the query", transient=True),
    "PermanentError": lambda stage: VerificationError(f"[{stage}] batch 2 is missing"),
}
LOCAL_ERROR_NAMES = {"QueryError": "TransientError", "VerificationError": "PermanentError"}
# How a failed container task looks on each side: the exit code in the mocked cause, and locally.
TASK_EXIT_CODES = {"TaskExit1": 1, "PermanentTaskExit": PERMANENT_EXIT_CODE}
INGEST_ITEMS = 2


@dataclass(frozen=True)
class Scenario:
    name: str
    batches: int = 3
    function_failures: dict[str, list[str]] = field(default_factory=dict)  # stage -> error per failed attempt
    task_failures: dict[str, list[str]] = field(default_factory=dict)  # role -> error per failed attempt
    still_running: tuple[str, ...] = ()  # Lambda stages whose first invocation returns RUNNING

    @property
    def run_id(self) -> str:
        return f"parity-{self.name.lower()}"


SCENARIOS = [
    Scenario("HappyInline"),
    Scenario("HappyDistributed", batches=45),  # above the inline Map's limit of 40
    Scenario("NothingToScore", batches=0),  # every record labelled: the map is skipped
    Scenario(
        "Transient",
        function_failures={"features": ["TransientError"]},
        task_failures={"train": ["TaskExit1"], "predict": ["TaskExit1"]},
        still_running=("aggregation",),
    ),
    # As many failures as the example spec's attempts ([retry.default] max_attempts = 3).
    Scenario("Exhausted", function_failures={"staging": ["TransientError"] * 3}),
    Scenario("Permanent", function_failures={"aggregation": ["PermanentError"]}),
]
# Not in SCENARIOS: the one known difference, pinned by its own test below.
PERMANENT_BATCH = Scenario("PermanentBatch", task_failures={"predict": ["PermanentTaskExit"]})


# -- the mocked Lambda and ECS answers ----------------------------------------------------------


def _step(status: str = "SUCCEEDED", count: int = 0, key: str = "") -> dict[str, Any]:
    """What every stage Lambda returns (entrypoints/lambda_handlers.run_stage)."""
    payload = {"status": status, "count": count, "items_key": key, "bucket": BUCKET if key else ""}
    return {"StatusCode": 200, "Payload": payload}


def _answers(oks: list[dict[str, Any]], failures: list[str]) -> dict[str, Any]:
    """Invocation numbers count per state across retries and map items alike: the failures
    first, then each answer of `oks` once, the last of them from then on. A Lambda's failure
    cause is its error as JSON, as lambda:invoke reports it."""
    answers: dict[str, Any] = {
        str(i): {
            "Throw": {"Error": error, "Cause": json.dumps({"errorMessage": f"attempt {i + 1}", "errorType": error})}
        }
        for i, error in enumerate(failures)
    }
    for n, ok in enumerate(oks[:-1]):
        answers[str(len(failures) + n)] = {"Return": ok}
    answers[f"{len(failures) + len(oks) - 1}-9999"] = {"Return": oks[-1]}
    return answers


def _task_answers(failures: list[str]) -> dict[str, Any]:
    """A stopped task's cause is its description: the loop reads the exit code from it."""
    ecs_ok = {"Tasks": [{"LastStatus": "STOPPED", "Containers": [{"Name": "batchml", "ExitCode": 0}]}]}
    answers: dict[str, Any] = {
        str(i): {
            "Throw": {
                "Error": error,
                "Cause": json.dumps(
                    {"Containers": [{"Name": "batchml", "ExitCode": TASK_EXIT_CODES[error]}], "StoppedReason": "exit"}
                ),
            }
        }
        for i, error in enumerate(failures)
    }
    answers[f"{len(failures)}-9999"] = {"Return": ecs_ok}
    return answers


def mock_config() -> dict[str, Any]:
    cases: dict[str, dict[str, str]] = {}
    responses: dict[str, Any] = {}
    for s in (*SCENARIOS, PERMANENT_BATCH):
        case: dict[str, str] = {}
        for stage in (*STAGE_NAMES, "record_failure"):
            if stage in ("training", "prediction"):
                continue
            oks = [_step("RUNNING")] if stage in s.still_running else []
            if stage == "staging":
                oks.append(_step("INGEST", INGEST_ITEMS, ingest_key(s)))
            oks.append(_step("SUCCEEDED", s.batches, items_key(s)) if stage == "batch_planning" else _step())
            responses[f"{s.name}.{stage}"] = _answers(oks, s.function_failures.get(stage, []))
            case[stage] = f"{s.name}.{stage}"
        responses[f"{s.name}.ingest"] = _answers([{"StatusCode": 200, "Payload": {"lines": 1}}], [])
        case["staging_ingest_inline_item"] = case["staging_ingest_distributed_item"] = f"{s.name}.ingest"
        for state, role in (("training", "train"), ("prediction_inline_batch", "predict")):
            responses[f"{s.name}.{state}"] = _task_answers(s.task_failures.get(role, []))
            case[state] = f"{s.name}.{state}"
        case["prediction_distributed_batch"] = case["prediction_inline_batch"]
        cases[s.name] = case
    return {"StateMachines": {MACHINE: {"TestCases": cases}}, "MockedResponses": responses}


def items_key(scenario: Scenario) -> str:
    return f"runs/{scenario.run_id}/batches/pending-1.json"


def ingest_key(scenario: Scenario) -> str:
    return f"runs/{scenario.run_id}/ingest/pending-1.json"


# -- LocalStack ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Emulator:
    endpoint: str
    state_machine_arn: str

    def client(self, service: str) -> Any:
        """A boto3 client pointed at this LocalStack, with dummy credentials: what the design
        card's localstack-client is for (it maps every service to the one gateway)."""
        host = self.endpoint.removeprefix("http://")
        return localstack_session.Session(localstack_host=host, region_name=REGION).client(service)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _script(*args: str, env: dict[str, str], timeout: float) -> None:
    result = subprocess.run(
        ["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        pytest.fail(f"scripts/localstack.sh {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def spec() -> PipelineSpec:
    return load_spec(EXAMPLE_SPEC)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    state_dir = tmp_path_factory.mktemp("localstack")
    mock = state_dir / "sfn-mock.json"
    mock.write_text(json.dumps(mock_config()), encoding="utf-8")
    env = {**os.environ, "SFN_MOCK_CONFIG": str(mock), "LS_STATE_DIR": str(state_dir)}
    started = time.perf_counter()
    _script("install", env=env, timeout=600)  # cached in ~/.cache/batchml/: seconds when already there
    TIMINGS["install"] = time.perf_counter() - started
    port = _free_port()
    started = time.perf_counter()
    _script("start", str(port), env=env, timeout=120)
    TIMINGS["start"] = time.perf_counter() - started
    try:
        endpoint = f"http://127.0.0.1:{port}"
        yield Emulator(endpoint, _create_state_machine(endpoint))
    finally:
        _script("stop", env=env, timeout=60)
        print("\nLocalStack parity timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in TIMINGS.items()))


def _create_state_machine(endpoint: str) -> str:
    values = {name: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:batchml-{name[11:]}" for name in TEMPLATE_VARIABLES}
    values |= {
        "ecs_cluster_arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/batchml",
        "train_task_definition_arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/batchml-train:1",
        "predict_task_definition_arn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/batchml-predict:1",
        "subnet_ids": "subnet-0a1b2c3d,subnet-4e5f6a7b",
        "security_group_ids": "sg-0123456789abcdef0",
        "data_bucket": BUCKET,
    }
    emulator = Emulator(endpoint, "")
    emulator.client("s3").create_bucket(Bucket=BUCKET)
    created = emulator.client("stepfunctions").create_state_machine(
        name=MACHINE,
        definition=substitute_template(RENDERED.read_text(encoding="utf-8"), values),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/batchml-sfn",
    )
    arn: str = created["stateMachineArn"]
    return arn


# -- both sides of a scenario ----------------------------------------------------------------------


class RecordingEventLog(EventLog):
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()  # map batches report from several threads

    def emit(self, event: str, **fields: Any) -> None:
        with self._lock:
            self.events.append({"event": event, **fields})


class ScriptedTaskRunner(TaskRunner):
    """The first tasks of a role fail as scripted, whichever batch they are: like the mocks."""

    def __init__(self, failures: dict[str, list[str]]) -> None:
        self.failures = {role: list(errors) for role, errors in failures.items()}
        self._lock = threading.Lock()

    def run(self, task: TaskSpec, timeout_seconds: float) -> TaskOutcome:
        with self._lock:
            pending = self.failures.get(task.role)
            error = pending.pop(0) if pending else None
        if error is None:
            return TaskOutcome(task.task_id, True, 0, "", 0.0)
        code = TASK_EXIT_CODES[error]
        return TaskOutcome(task.task_id, False, code, f"container exited with {code}", 0.0)


class SourceOnlyEngine:
    """The stage functions are scripted, so the run only asks the engine for the source's fingerprint."""

    def source_fingerprint(self, source: str) -> str:
        return "parity"


def run_locally(spec: PipelineSpec, scenario: Scenario, root: Path) -> list[dict[str, Any]]:
    store = FilesystemObjectStore(root)
    log = RecordingEventLog()
    ports = Ports(cast(Any, SourceOnlyEngine()), store, cast(Any, None), ObjectStoreRunStore(store), log)
    ctx = RunContext(spec=spec, run_id=scenario.run_id, ports=ports)
    failures = {stage: list(errors) for stage, errors in scenario.function_failures.items()}

    def stage_function(_ctx: RunContext, stage: str) -> dict[str, Any]:
        if failures.get(stage):
            raise LOCAL_ERRORS[failures[stage].pop(0)](stage)
        return {}

    orchestrator = LocalOrchestrator(
        ctx,
        build_graph(spec),
        ScriptedTaskRunner(scenario.task_failures),
        sleep=lambda _seconds: None,
        rng=random.Random(0),
        stage_function=stage_function,
        batches=lambda _ctx: list(range(scenario.batches)),
        task_report=lambda _ctx, _stage: {},
    )
    orchestrator.execute(start_run(ctx, time.time()))
    return log.events


@dataclass
class EmulatorRun:
    status: str
    history: list[dict[str, Any]]
    events: list[dict[str, Any]]


def run_in_emulator(
    emulator: Emulator, scenario: Scenario, execution_name: str | None = None, resume: bool = False
) -> EmulatorRun:
    items = [{"batch": b, "rows": 100} for b in range(scenario.batches)]
    s3 = emulator.client("s3")
    s3.put_object(Bucket=BUCKET, Key=items_key(scenario), Body=json.dumps(items).encode())
    ingest = [{"item": i} for i in range(INGEST_ITEMS)]
    s3.put_object(Bucket=BUCKET, Key=ingest_key(scenario), Body=json.dumps(ingest).encode())
    sfn = emulator.client("stepfunctions")
    log = RecordingEventLog()
    deadline = time.monotonic() + RUN_LIMIT_SECONDS

    def sleep(seconds: float) -> None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{scenario.name} still running after {RUN_LIMIT_SECONDS}s")
        time.sleep(seconds)

    # `#TestCase` after the ARN picks the scenario's mocked answers.
    launcher = StepFunctionsLauncher(sfn, f"{emulator.state_machine_arn}#{scenario.name}", log, 0.2, sleep)
    started = time.perf_counter()
    execution_arn = launcher.start(scenario.run_id, f"s3://{BUCKET}/spec.toml", execution_name, resume=resume)
    status = launcher.watch(execution_arn)
    TIMINGS[scenario.name] = time.perf_counter() - started
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
    history = [e for page in pages for e in page["events"]]
    check_history(history)  # every state's input and output within Step Functions' 256 KiB
    return EmulatorRun(status, history, log.events)


# -- what is compared ------------------------------------------------------------------------------

END_STATES = {"run_succeeded": "<succeeded>", "record_failure": "<failed>", "run_failed": "<failed>"}


def _dedupe(names: list[str]) -> list[str]:
    return [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]


def emulator_sequence(history: list[dict[str, Any]]) -> list[str]:
    """The stages the execution went through, in order: each state counts for its stage (a
    Lambda stage's loop, a fan-out coming back to its stage, a task's retry loop), the failure
    route and the end states for the run's end."""
    names: list[str] = []
    for event in history:
        if not event["type"].endswith("StateEntered"):
            continue
        name = event["stateEnteredEventDetails"]["name"]
        if failed_stage(name):
            continue
        stage = stage_of_state(name)
        names.append(stage if stage is not None else END_STATES[name])  # a KeyError: a state unknown here
    return _dedupe(names)


def local_sequence(events: list[dict[str, Any]]) -> list[str]:
    ends = {"run_succeeded": "<succeeded>", "run_failed": "<failed>"}
    return [
        e["stage"] if e["event"] == "stage_started" else ends[e["event"]]
        for e in events
        if e["event"]
        in (
            "stage_started",
            *ends,
        )
    ]


def emulator_retries(history: list[dict[str, Any]]) -> Counter[str]:
    """A retry in a history: a task scheduled again right after its state's task failed (Step
    Functions' own Retry), or a container task's retry loop waiting before its next attempt."""
    by_id = {e["id"]: e for e in history}
    retries: Counter[str] = Counter()
    for event in history:
        if event["type"] == "WaitStateEntered" and event["stateEnteredEventDetails"]["name"].endswith("_retry_wait"):
            retries[stage_of_state(event["stateEnteredEventDetails"]["name"]) or "?"] += 1
            continue
        previous = by_id.get(event.get("previousEventId", 0))
        if (
            event["type"] != "TaskScheduled"
            or previous is None
            or previous["type"] not in ("TaskFailed", "TaskTimedOut")
        ):
            continue
        entered = event
        while not entered["type"].endswith("StateEntered"):
            entered = by_id[entered["previousEventId"]]
        name = entered["stateEnteredEventDetails"]["name"]
        retries[stage_of_state(name) or name] += 1
    return retries


def local_retries(events: list[dict[str, Any]]) -> Counter[str]:
    return Counter(e["stage"] for e in events if e["event"] == "retry")


PROGRESS_EVENTS = ("run_started", "stage_started", "stage_succeeded", "stage_failed", "map_started", "run_succeeded")


def progress(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """The stage-level events in order (batch events interleave by thread timing, so counted apart)."""
    shown: list[tuple[Any, ...]] = []
    for e in events:
        if e["event"] in PROGRESS_EVENTS:
            shown.append((e["event"], e.get("stage"), e.get("kind"), e.get("batches"), e.get("max_concurrency")))
        elif e["event"] == "run_failed":
            # Which batch fails first depends on thread timing on either side; that one did is not.
            shown.append(("run_failed", e["stage"], e["batch"] is None))
        if e["event"] == "stage_failed":
            shown.append(("stage_failed_error_type", LOCAL_ERROR_NAMES.get(e["error_type"], e["error_type"])))
    return shown


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_the_emulated_state_machine_and_the_local_orchestrator_agree(
    scenario: Scenario, emulator: Emulator, spec: PipelineSpec, tmp_path: Path
) -> None:
    local = run_locally(spec, scenario, tmp_path)
    remote = run_in_emulator(emulator, scenario)

    expect_success = scenario.name in ("HappyInline", "HappyDistributed", "Transient", "NothingToScore")
    assert remote.status == ("SUCCEEDED" if expect_success else "FAILED")
    assert local_sequence(local)[-1] == ("<succeeded>" if expect_success else "<failed>")
    assert emulator_sequence(remote.history) == local_sequence(local)
    assert emulator_retries(remote.history) == local_retries(local)
    # The launcher's translation of the history is what `batchml run --backend aws` displays.
    assert progress(remote.events) == progress(local)
    assert local_retries(remote.events) == local_retries(local)
    if expect_success:
        for log in (remote.events, local):
            done = [i for i, e in enumerate(log) if e["event"] == "batch_succeeded"]
            end = next(i for i, e in enumerate(log) if e["event"] == "stage_succeeded" and e["stage"] == "prediction")
            assert len(done) == scenario.batches and max(done, default=-1) < end  # every batch before the end


def test_a_transient_failure_is_retried_with_the_same_attempt_numbers(emulator: Emulator, spec: PipelineSpec) -> None:
    scenario = next(s for s in SCENARIOS if s.name == "Exhausted")
    remote = run_in_emulator(emulator, scenario, execution_name=f"{scenario.run_id}-again")
    retries = [e for e in remote.events if e["event"] == "retry"]
    max_attempts = spec.retry_for("staging").max_attempts
    assert [(r["attempt"], r["next_attempt"]) for r in retries] == [(n, n + 1) for n in range(1, max_attempts)]
    assert all(r["error_type"] == "TransientError" and r["stage"] == "staging" for r in retries)
    assert [r["error"] for r in retries] == ["attempt 1", "attempt 2"]  # the Lambda's message, unwrapped
    (failed,) = [e for e in remote.events if e["event"] == "run_failed"]
    assert failed["stage"] == "staging" and "TransientError" in failed["error"]


def test_a_resumed_execution_tells_the_first_stage_and_only_it(emulator: Emulator, spec: PipelineSpec) -> None:
    scenario = next(s for s in SCENARIOS if s.name == "HappyInline")
    remote = run_in_emulator(emulator, scenario, execution_name=f"{scenario.run_id}-resume-1", resume=True)
    assert remote.status == "SUCCEEDED"
    by_id = {e["id"]: e for e in remote.history}
    payloads: dict[str, dict[str, Any]] = {}
    items: set[int] = set()
    for event in remote.history:
        if event["type"] != "TaskScheduled" or event["taskScheduledEventDetails"]["resourceType"] != "lambda":
            continue
        entered = by_id[event["previousEventId"]]
        name = entered["stateEnteredEventDetails"]["name"]
        payloads[name] = json.loads(event["taskScheduledEventDetails"]["parameters"])["Payload"]
        if name == "staging_ingest_inline_item":
            items.add(payloads[name]["item"])
    run = {"run_id": scenario.run_id, "spec_uri": f"s3://{BUCKET}/spec.toml"}
    assert payloads["pre_cleanup"] == {**run, "resume": True}
    assert {k: v for k, v in payloads.pop("staging_ingest_inline_item").items() if k != "item"} == run
    assert items == set(range(INGEST_ITEMS))  # the ingest items run concurrently
    assert all(payload == run for name, payload in payloads.items() if name != "pre_cleanup")
    assert set(payloads) == {stage.name for stage in build_graph(spec).stages if stage.kind is StageKind.FUNCTION}


def test_a_permanently_failing_task_is_retried_on_neither_side(
    emulator: Emulator, spec: PipelineSpec, tmp_path: Path
) -> None:
    """Exit code 3 (the task found an error no retry fixes) ends the run at once, locally and on
    AWS alike. Before, Step Functions saw only States.TaskFailed and retried it (issue 13,
    finding 7: the parity test pinned that disagreement)."""
    local = run_locally(spec, PERMANENT_BATCH, tmp_path)
    remote = run_in_emulator(emulator, PERMANENT_BATCH)
    assert local_retries(local) == Counter() == emulator_retries(remote.history)
    assert remote.status == "FAILED" and local_sequence(local)[-1] == "<failed>"
    assert emulator_sequence(remote.history) == local_sequence(local)
    for log in (local, remote.events):
        (failed,) = [e for e in log if e["event"] == "run_failed"]
        assert failed["stage"] == "prediction"
