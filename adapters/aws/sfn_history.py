"""Translate a Step Functions execution history into the events a local run emits.

A stage is a family of states (adapters/aws/state_machine.stage_of_state): the stage starts when
the first of its states is entered and succeeds when a state of the next stage is (or the
execution succeeds), however often its states loop in between (a Lambda stage waiting for its
queries, a staging fan-out coming back). It fails when its failure route (`<stage>_failed`) is
entered. Retries are of two kinds: Step Functions' own (a TaskFailed followed by a new
TaskScheduled in the same state) and a container task's retry loop (its `_retry_wait` state,
which knows the attempt and the delay). The prediction Map's iterations give the batches; a
Distributed Map's run is polled for its counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from adapters.aws.asl_states import RETRY_WAIT, ROUTE
from adapters.aws.state_machine import failed_stage, stage_of_state
from domain.ports.event_log import EventLog

TERMINAL = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}
_TASK_FAILURES = ("TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed")
_BATCH_TASK = "_batch"  # the task state of one prediction map iteration


def _details(event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if key.endswith("EventDetails") and isinstance(value, dict):
            return value
    return {}


def _error_text(cause: str) -> str:
    """A Lambda's failure cause is its error as JSON: show the message, not the envelope."""
    try:
        detail = json.loads(cause) if cause.startswith("{") else None
    except ValueError:
        detail = None
    if isinstance(detail, dict) and "errorMessage" in detail:
        return str(detail["errorMessage"])
    if isinstance(detail, dict) and "Containers" in detail:  # an ECS task's description
        code = (detail.get("Containers") or [{}])[0].get("ExitCode")
        return f"task exit code {code}: {detail.get('StoppedReason', 'no reason given')}"
    return cause


def _seconds(start: datetime | None, end: datetime) -> float:
    return round((end - start).total_seconds(), 3) if start else 0.0


def _input(details: dict[str, Any]) -> dict[str, Any]:
    try:
        value = json.loads(details.get("input") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


class _Scope:
    """What an event belongs to: a state entered (and, inside a map iteration, its batch)."""

    def __init__(self, state: str, batch: int | None = None) -> None:
        self.state, self.batch = state, batch
        self.attempts = 0
        self.failure: dict[str, Any] | None = None


class HistoryTranslator:
    """Turns history events, in order, into EventLog events."""

    def __init__(
        self, events: EventLog, facts: dict[str, Any], describe_map_run: Callable[[str], dict[str, Any]]
    ) -> None:
        self.events, self.facts, self.describe_map_run = events, facts, describe_map_run
        self.scopes: dict[int, _Scope] = {}  # event id -> the scope it belongs to
        self.stage: str | None = None  # the stage under way, until it ends
        self.stage_started_at: datetime | None = None
        self.stage_attempts = 0
        self.failed_stage: tuple[str, int | None] | None = None
        self.failed_batch: int | None = None  # the prediction map's failed batch, if any
        self.batch_attempts: dict[int | None, int] = {}
        self.map_runs: dict[str, dict[str, int]] = {}  # open Distributed Map runs -> counts seen
        self.started_at: datetime | None = None
        self.status: str | None = None

    def feed(self, event: dict[str, Any]) -> None:
        kind, details, at = event["type"], _details(event), event["timestamp"]
        parent = self.scopes.get(event.get("previousEventId", 0))
        if kind.endswith("StateEntered"):
            scope = _Scope(details["name"], parent.batch if parent else None)
            self.scopes[event["id"]] = scope
            self._entered(kind, scope, details, at)
            return
        if kind == "MapIterationStarted":
            self.scopes[event["id"]] = _Scope(details["name"], None)
            return
        if parent is not None:
            self.scopes[event["id"]] = parent
        handler = getattr(self, "_on_" + kind, None)
        if handler is not None:
            handler(parent, details, at)
        elif kind in _TASK_FAILURES and parent is not None:
            parent.failure = {"error": details.get("error", kind), "cause": details.get("cause", ""), "at": at}

    # -- stages --------------------------------------------------------------------------------
    def _entered(self, kind: str, scope: _Scope, details: dict[str, Any], at: datetime) -> None:
        name = scope.state
        if (failed := failed_stage(name)) is not None:
            self._stage_failed(failed, _input(details).get("error") or {}, at)
            return
        stage = stage_of_state(name)
        if stage is None:
            return
        if stage != self.stage:
            self._close_stage(at)
            self.stage, self.stage_started_at, self.stage_attempts = stage, at, 0
            self.events.emit("stage_started", stage=stage, kind=self.facts["kinds"].get(stage, "function"))
        data = _input(details)
        if name.endswith(RETRY_WAIT):
            self._task_retry(stage, scope.batch, data, at)
        if self.facts["kinds"].get(stage) != "map":
            return
        if name.endswith(_BATCH_TASK) and kind == "TaskStateEntered":
            scope.batch = data.get("batch", scope.batch)
            attempt = int((data.get("retry") or {}).get("attempt", 1))
            self.batch_attempts[scope.batch] = attempt
            if attempt == 1:
                self.events.emit("batch_started", stage=stage, batch=scope.batch)
        elif name == stage + ROUTE:  # the batches are known here, also when there are none to run
            batches = int((data.get("batch_planning") or {}).get("count", 0))
            self.events.emit(
                "map_started",
                stage=stage,
                batches=batches,
                pending=batches,
                skipped=0,
                max_concurrency=self.facts["max_concurrency"],
            )

    def _close_stage(self, at: datetime) -> None:
        if self.stage is not None and (self.failed_stage is None or self.failed_stage[0] != self.stage):
            self.events.emit(
                "stage_succeeded",
                stage=self.stage,
                seconds=_seconds(self.stage_started_at, at),
                attempts=max(self.stage_attempts, 1),
            )
        self.stage = None

    def _stage_failed(self, stage: str, caught: dict[str, Any], at: datetime) -> None:
        batch = self.failed_batch if stage == self.stage and self.facts["kinds"].get(stage) == "map" else None
        self.failed_stage = (stage, batch)
        self.events.emit(
            "stage_failed",
            stage=stage,
            batch=batch,
            error=_error_text(str(caught.get("Cause", ""))),
            error_type=caught.get("Error", ""),
            seconds=_seconds(self.stage_started_at, at),
        )
        self.stage = None

    def _task_retry(self, stage: str, batch: int | None, data: dict[str, Any], at: datetime) -> None:
        """A container task's retry loop is about to wait: the failed attempt and the next."""
        retry, error = data.get("retry") or {}, data.get("error") or {}
        next_attempt = int(retry.get("attempt", 2))
        self.stage_attempts = max(self.stage_attempts, next_attempt)
        self.events.emit(
            "retry",
            stage=stage,
            batch=batch,
            attempt=next_attempt - 1,
            next_attempt=next_attempt,
            delay_seconds=float(retry.get("delay", 0)),
            error=_error_text(str(error.get("Cause", ""))),
            error_type=error.get("Error", ""),
        )

    # -- Step Functions' own retries ----------------------------------------------------------
    def _on_TaskScheduled(self, scope: _Scope | None, details: dict[str, Any], at: datetime) -> None:
        stage = stage_of_state(scope.state) if scope else None
        if scope is None or stage is None:  # record_failure's own retries are not a stage's
            return
        scope.attempts += 1
        if scope.batch is None:
            self.stage_attempts = max(self.stage_attempts, scope.attempts)
        failure, scope.failure = scope.failure, None
        if failure is None:
            return
        self.events.emit(
            "retry",
            stage=stage,
            batch=scope.batch,
            attempt=scope.attempts - 1,
            next_attempt=scope.attempts,
            delay_seconds=_seconds(failure["at"], at),
            error=_error_text(failure["cause"]),
            error_type=failure["error"],
        )

    # -- inline map iterations -----------------------------------------------------------------
    def _on_MapIterationSucceeded(self, scope: _Scope | None, details: dict[str, Any], at: datetime) -> None:
        self._iteration_end(scope, details, "batch_succeeded")

    def _on_MapIterationFailed(self, scope: _Scope | None, details: dict[str, Any], at: datetime) -> None:
        self._iteration_end(scope, details, "batch_failed")

    def _iteration_end(self, scope: _Scope | None, details: dict[str, Any], event: str) -> None:
        # The iteration's end follows its last state's events, so that scope has the batch. An
        # iteration that never ran its task was cancelled by a sibling's failure: not reported,
        # like the batches the local orchestrator never starts after a failure. The ingest
        # fan-out's iterations are items of the staging stage, not batches.
        stage = stage_of_state(details.get("name", "")) or self.stage or ""
        if scope is None or self.facts["kinds"].get(stage) != "map" or scope.batch not in self.batch_attempts:
            return
        attempts = self.batch_attempts[scope.batch]
        self.stage_attempts = max(self.stage_attempts, attempts)
        if event == "batch_succeeded":
            self.events.emit(event, stage=stage, batch=scope.batch, attempts=attempts)
            return
        self.failed_batch = scope.batch
        error = _error_text(scope.failure["cause"]) if scope.failure else "the batch failed"
        self.events.emit(event, stage=stage, batch=scope.batch, attempt=attempts, error=error)

    # -- distributed map runs ------------------------------------------------------------------
    def _on_MapRunStarted(self, scope: _Scope | None, details: dict[str, Any], at: datetime) -> None:
        if self.facts["kinds"].get(self.stage or "") == "map":  # batches, not ingest items
            self.map_runs[details["mapRunArn"]] = {"succeeded": 0, "failed": 0}

    def _on_MapRunSucceeded(self, scope: _Scope | None, details: dict[str, Any], at: datetime) -> None:
        self.map_run_progress()  # report the last batches before the stage's end

    def _on_MapRunFailed(self, scope: _Scope | None, details: dict[str, Any], at: datetime) -> None:
        self.map_run_progress()

    def map_run_progress(self) -> None:
        """A Distributed Map's batches run in child executions, outside this history: report
        them from the map run's counts."""
        for map_run_arn, seen in list(self.map_runs.items()):
            description = self.describe_map_run(map_run_arn)
            counts = description.get("itemCounts", {})
            succeeded = int(counts.get("succeeded", 0))
            failed = int(counts.get("failed", 0)) + int(counts.get("timedOut", 0))
            for _ in range(succeeded - seen["succeeded"]):
                self.events.emit("batch_succeeded", stage=self.stage or "prediction", batch=None)
            for _ in range(failed - seen["failed"]):
                self.events.emit(
                    "batch_failed", stage=self.stage or "prediction", batch=None, error="a child execution failed"
                )
            seen["succeeded"], seen["failed"] = succeeded, failed
            if description.get("status") not in (None, "RUNNING"):
                del self.map_runs[map_run_arn]

    # -- the execution ---------------------------------------------------------------------------
    def _on_ExecutionStarted(self, scope: _Scope | None, details: dict[str, Any], at: datetime) -> None:
        self.started_at = at
        self.events.emit("run_started", stages=0, resumed=False)

    def _on_ExecutionSucceeded(self, scope: _Scope | None, details: dict[str, Any], at: datetime) -> None:
        self._close_stage(at)
        self.events.emit("run_succeeded", seconds=_seconds(self.started_at, at))
        self.status = TERMINAL["ExecutionSucceeded"]

    def _on_ExecutionFailed(self, scope: _Scope | None, details: dict[str, Any], at: datetime) -> None:
        self._run_failed("ExecutionFailed", details.get("cause") or details.get("error", "failed"))

    def _on_ExecutionTimedOut(self, scope: _Scope | None, details: dict[str, Any], at: datetime) -> None:
        self._run_failed("ExecutionTimedOut", "the execution timed out")

    def _on_ExecutionAborted(self, scope: _Scope | None, details: dict[str, Any], at: datetime) -> None:
        self._run_failed("ExecutionAborted", "the execution was stopped")

    def _run_failed(self, kind: str, error: str) -> None:
        stage, batch = self.failed_stage or (self.stage or "", None)
        self.events.emit("run_failed", stage=stage, batch=batch, error=error)
        self.status = TERMINAL[kind]
