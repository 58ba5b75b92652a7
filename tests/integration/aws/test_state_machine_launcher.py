"""The Step Functions launcher against a scripted client: what it sends, how it pages the history.

Its translation of real histories is checked against LocalStack in test_state_machine_parity.py;
these cases cover what an emulator does not: a history longer than one page (LocalStack
ignores maxResults), polling while the execution runs, and the end states.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.aws.sfn_launcher import StepFunctionsLauncher
from domain.ports.event_log import EventLog

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DEFINITION = json.dumps(
    {"StartAt": "staging", "States": {"staging": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke"}}}
)


class Log(EventLog):
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def emit(self, event: str, **fields: Any) -> None:
        self.events.append({"event": event, **fields})


def event(event_id: int, kind: str, previous: int = 0, **details: Any) -> dict[str, Any]:
    key = {
        "TaskStateEntered": "stateEnteredEventDetails",
        "PassStateEntered": "stateEnteredEventDetails",
        "TaskStateExited": "stateExitedEventDetails",
        "TaskFailed": "taskFailedEventDetails",
        "ExecutionFailed": "executionFailedEventDetails",
    }.get(kind, "otherEventDetails")
    return {
        "id": event_id,
        "previousEventId": previous,
        "type": kind,
        "timestamp": T0 + timedelta(seconds=event_id),
        key: details,
    }


HISTORY = [
    event(1, "ExecutionStarted"),
    event(2, "TaskStateEntered", 1, name="staging", input="{}"),
    event(3, "TaskScheduled", 2),
    event(4, "TaskFailed", 3, error="TransientError", cause="flaky"),
    event(5, "TaskScheduled", 4),
    event(6, "TaskFailed", 5, error="TransientError", cause="flaky again"),
    event(7, "TaskStateExited", 6, name="staging", output=json.dumps({"error": {"Error": "TransientError"}})),
    event(8, "PassStateEntered", 7, name="staging_failed", input=json.dumps({"error": {"Error": "TransientError"}})),
    event(9, "ExecutionFailed", 8, error="RunFailed", cause="staging failed: TransientError: flaky again"),
]


class ScriptedClient:
    """Reveals the history a few events per poll and serves it in pages of two, newest first
    (or oldest first, as moto does whatever reverseOrder asks)."""

    def __init__(self, reveal: list[int], oldest_first: bool = False) -> None:
        self.reveal, self.oldest_first = reveal, oldest_first
        self.calls: list[dict[str, Any]] = []
        self.polls = 0

    def start_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"executionArn": "arn:aws:states:us-east-1:1:execution:pipeline:" + kwargs["name"]}

    def describe_state_machine_for_execution(self, **kwargs: Any) -> dict[str, Any]:
        return {"definition": DEFINITION}

    def list_executions(self, **kwargs: Any) -> dict[str, Any]:
        assert kwargs["statusFilter"] == "RUNNING"
        names = ["r1", "r1-resume-1764115200", "r10", "r2-resume-1"]
        pages = {None: (names[:2], "2"), "2": (names[2:], None)}
        chosen, token = pages[kwargs.get("nextToken")]
        page: dict[str, Any] = {"executions": [{"name": n, "executionArn": f"arn:{n}"} for n in chosen]}
        return {**page, "nextToken": token} if token else page

    def describe_map_run(self, **kwargs: Any) -> dict[str, Any]:
        raise AssertionError("no map run in this history")

    def get_execution_history(self, **kwargs: Any) -> dict[str, Any]:
        assert kwargs["reverseOrder"] is True
        if "nextToken" not in kwargs:
            self.polls += 1
        visible = HISTORY[: self.reveal[min(self.polls, len(self.reveal)) - 1]]
        visible = visible if self.oldest_first else visible[::-1]
        start = int(kwargs.get("nextToken", 0))
        page: dict[str, Any] = {"events": visible[start : start + 2]}
        if start + 2 < len(visible):
            page["nextToken"] = str(start + 2)
        self.calls.append({"history_page": [e["id"] for e in page["events"]]})
        return page


def test_start_names_the_execution_after_the_run_and_passes_run_and_spec() -> None:
    client = ScriptedClient([9])
    launcher = StepFunctionsLauncher(client, "arn:sm", Log(), 0.0, lambda _s: None)
    arn = launcher.start("20260101t000000z-ab12", "s3://bucket/spec.toml")
    assert arn.endswith(":20260101t000000z-ab12")
    (call,) = client.calls
    assert call["stateMachineArn"] == "arn:sm" and call["name"] == "20260101t000000z-ab12"
    assert json.loads(call["input"]) == {"run_id": "20260101t000000z-ab12", "spec_uri": "s3://bucket/spec.toml"}
    launcher.start("r", "s3://b/s.toml", execution_name="r-resume-2", resume=True)
    assert client.calls[-1]["name"] == "r-resume-2"
    assert json.loads(client.calls[-1]["input"]) == {"run_id": "r", "spec_uri": "s3://b/s.toml", "resume": True}


def test_watch_reads_only_new_events_and_reports_each_once() -> None:
    client = ScriptedClient([3, 5, 9])  # the execution advances between polls
    log, slept = Log(), list[float]()
    status = StepFunctionsLauncher(client, "arn:sm", log, 2.5, slept.append).watch("arn:execution")
    assert status == "FAILED"
    assert slept == [2.5, 2.5]
    pages = [c["history_page"] for c in client.calls if "history_page" in c]
    # Newest first, and no further than the first page holding an event already seen.
    assert pages == [[3, 2], [1], [5, 4], [3, 2], [9, 8], [7, 6], [5, 4]]
    assert [e["event"] for e in log.events] == ["run_started", "stage_started", "retry", "stage_failed", "run_failed"]
    retry = log.events[2]
    assert retry == {
        "event": "retry",
        "stage": "staging",
        "batch": None,
        "attempt": 1,
        "next_attempt": 2,
        "delay_seconds": 1.0,
        "error": "flaky",
        "error_type": "TransientError",
    }
    assert log.events[-1] == {
        "event": "run_failed",
        "stage": "staging",
        "batch": None,
        "error": "staging failed: TransientError: flaky again",
    }


def test_a_history_served_oldest_first_is_still_followed_to_its_end() -> None:
    # moto ignores reverseOrder: a launcher that trusted the order took the oldest event of the
    # first poll for the newest and then saw nothing new again, polling forever.
    client = ScriptedClient([3, 5, 9], oldest_first=True)
    log, slept = Log(), list[float]()
    status = StepFunctionsLauncher(client, "arn:sm", log, 2.5, slept.append).watch("arn:execution")
    assert status == "FAILED"
    assert slept == [2.5, 2.5]
    assert [e["event"] for e in log.events] == ["run_started", "stage_started", "retry", "stage_failed", "run_failed"]


def test_running_finds_the_runs_own_executions_on_every_page() -> None:
    launcher = StepFunctionsLauncher(ScriptedClient([9]), "arn:sm", Log(), 0.0, lambda _s: None)
    assert launcher.running("r1") == ["arn:r1", "arn:r1-resume-1764115200"]  # not r10's
    assert launcher.running("r2") == ["arn:r2-resume-1"]
    assert launcher.running("r3") == []
