"""Translate a Step Functions execution history into the events a local run emits.

Step Functions has no "retry" event: a retry is a TaskFailed followed by a new TaskScheduled
of the same state, and that is how it is found. Stage-level states are matched to the graph's
stages by name (adapters/aws/state_machine.stage_of_state); the inline map's iterations give
the batches, a Distributed Map's run is polled for its counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from adapters.aws.state_machine import stage_of_state
from domain.ports.event_log import EventLog

TERMINAL = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}
_TASK_FAILURES = ("TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed")


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
    return str(detail["errorMessage"]) if isinstance(detail, dict) and "errorMessage" in detail else cause


def _seconds(start: datetime | None, end: datetime) -> float:
    return round((end - start).total_seconds(), 3) if start else 0.0


class _Scope:
    """What an event belongs to: a state (and, inside an inline map, one batch)."""

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
        self.top: dict[str, _Scope] = {}  # stage-level states (unique names) -> their scope
        self.stage: str | None = None
        self.stage_started_at: datetime | None = None
        self.stage_attempts = 0
        self.failed_stage: tuple[str, int | None] | None = None
        self.failed_batch: int | None = None  # the inline map's failed batch, if any
        self.map_runs: dict[str, dict[str, int]] = {}  # open Distributed Map runs -> counts seen
        self.started_at: datetime | None = None
        self.status: str | None = None

    def feed(self, event: dict[str, Any]) -> None:
        kind, details = event["type"], _details(event)
        parent = self.scopes.get(event.get("previousEventId", 0))
        if kind.endswith("StateExited") and details.get("name") in self.top:
            # A map's exit follows its last iteration's events, not its own: find it by name.
            parent = self.top[details["name"]]
        if kind.endswith("StateEntered"):
            scope = _Scope(details["name"], parent.batch if parent else None)
            self.scopes[event["id"]] = scope
            self._entered(kind, scope, details, event["timestamp"])
            return
        if kind == "MapIterationStarted":
            scope = _Scope(details["name"], None)
            self.scopes[event["id"]] = scope
            return
        if parent is not None:
            self.scopes[event["id"]] = parent
        handler = getattr(self, "_on_" + kind, None)
        if handler is not None:
            handler(parent, details, event["timestamp"])
        elif kind in _TASK_FAILURES and parent is not None:
            parent.failure = {
                "error": details.get("error", kind),
                "cause": details.get("cause", ""),
                "at": event["timestamp"],
            }

    # -- states ------------------------------------------------------------------------------
    def _entered(self, kind: str, scope: _Scope, details: dict[str, Any], at: datetime) -> None:
        stage = stage_of_state(scope.state)
        if stage is None:
            return
        if scope.state.endswith("_batch"):  # a task inside an inline map iteration
            scope.batch = json.loads(details.get("input") or "{}").get("batch", scope.batch)
            self.events.emit("batch_started", stage=stage, batch=scope.batch)
            return
        self.top[scope.state] = scope
        if stage != self.stage:
            self.stage, self.stage_started_at, self.stage_attempts = stage, at, 0
            self.events.emit("stage_started", stage=stage, kind=self.facts["kinds"].get(stage, "function"))
        if kind == "MapStateEntered":
            plan = json.loads(details.get("input") or "{}").get("plan", {})
            batches = int(plan.get("batches", 0))
            self.events.emit(
                "map_started",
                stage=stage,
                batches=batches,
                pending=batches,
                skipped=0,
                max_concurrency=self.facts["max_concurrency"],
            )

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

    def _on_TaskStateExited(self, scope: _Scope | None, details: dict[str, Any], at: datetime) -> None:
        self._exited(scope, details, at)

    def _on_MapStateExited(self, scope: _Scope | None, details: dict[str, Any], at: datetime) -> None:
        self._exited(scope, details, at)

    def _exited(self, scope: _Scope | None, details: dict[str, Any], at: datetime) -> None:
        if scope is None or scope.state not in self.top:
            return
        stage = stage_of_state(scope.state)
        if stage is None:
            return
        # A caught error lands in `$.error` of the state's output (every Catch has that ResultPath).
        caught = json.loads(details.get("output") or "{}").get("error")
        if caught:
            batch = self.failed_batch if scope.state.endswith("_inline") else None
            self.failed_stage = (stage, batch)
            self.events.emit(
                "stage_failed",
                stage=stage,
                batch=batch,
                error=_error_text(caught.get("Cause", "")),
                error_type=caught.get("Error", ""),
                seconds=_seconds(self.stage_started_at, at),
            )
        elif not scope.state.endswith("_items"):  # reading the batch list is not the stage's end
            self.events.emit(
                "stage_succeeded",
                stage=stage,
                seconds=_seconds(self.stage_started_at, at),
                attempts=self.stage_attempts,
            )

    # -- inline map iterations -----------------------------------------------------------------
    def _on_MapIterationSucceeded(self, scope: _Scope | None, details: dict[str, Any], at: datetime) -> None:
        self._iteration_end(scope, details, "batch_succeeded")

    def _on_MapIterationFailed(self, scope: _Scope | None, details: dict[str, Any], at: datetime) -> None:
        self._iteration_end(scope, details, "batch_failed")

    def _iteration_end(self, scope: _Scope | None, details: dict[str, Any], event: str) -> None:
        # The iteration's end event follows its last task's events, so that scope has the batch.
        # An iteration that never ran a task was cancelled by a sibling's failure: not reported,
        # like the batches the local orchestrator never starts after a failure.
        if scope is None or scope.attempts == 0:
            return
        stage = stage_of_state(details.get("name", "")) or self.stage or ""
        batch = scope.batch if scope.batch is not None else details.get("index")
        self.stage_attempts = max(self.stage_attempts, scope.attempts)
        if event == "batch_succeeded":
            self.events.emit(event, stage=stage, batch=batch, attempts=scope.attempts)
        else:
            self.failed_batch = batch
            error = _error_text(scope.failure["cause"]) if scope.failure else "the batch failed"
            self.events.emit(event, stage=stage, batch=batch, attempt=scope.attempts, error=error)

    # -- distributed map runs ------------------------------------------------------------------
    def _on_MapRunStarted(self, scope: _Scope | None, details: dict[str, Any], at: datetime) -> None:
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
                self.events.emit("batch_succeeded", stage=self.stage or "", batch=None)
            for _ in range(failed - seen["failed"]):
                self.events.emit("batch_failed", stage=self.stage or "", batch=None, error="a child execution failed")
            seen["succeeded"], seen["failed"] = succeeded, failed
            if description.get("status") not in (None, "RUNNING"):
                del self.map_runs[map_run_arn]

    # -- the execution ---------------------------------------------------------------------------
    def _on_ExecutionStarted(self, scope: _Scope | None, details: dict[str, Any], at: datetime) -> None:
        self.started_at = at
        self.events.emit("run_started", stages=0, resumed=False)

    def _on_ExecutionSucceeded(self, scope: _Scope | None, details: dict[str, Any], at: datetime) -> None:
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
