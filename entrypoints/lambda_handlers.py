"""AWS Lambda handlers: one per function stage of the graph, and the failure route.

Each handler parses the event Step Functions sends (`{"run_id": ..., "spec_uri": "s3://..."}`),
runs its stage through the composition root with the aws backend, records the outcome in the
run's state (as the local orchestrator does) and returns a small JSON. Clients are created
once per Lambda environment (`containers.aws_client`), not per invocation.

Errors: whatever a stage raises leaves the handler as `TransientError` or `PermanentError`
(by `domain.retry.is_retryable`); Step Functions sees the class name as the error name, so
its Retry matches RETRYABLE_ERRORS and everything else goes to the failure route at once.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from domain.context import RunContext
from domain.errors import RunLockedError, SpecError
from domain.identifiers import check_run_id
from domain.pipeline import run_function_stage
from domain.retry import is_retryable
from domain.run_lifecycle import (
    end_run_failed,
    lock_stale_after,
    record_stage,
    running_stage,
    start_run,
    succeed_run,
)
from domain.run_state import RunState, StageRecord
from entrypoints import containers
from entrypoints.settings import AwsSettings, Settings
from entrypoints.spec_source import load_spec_uri

containers.preload_aws_adapters()  # at Lambda init, not in the first invocation

TRANSIENT_ERROR = "TransientError"
PERMANENT_ERROR = "PermanentError"
# What the state machine's Retry on a Lambda stage should list: our transient failures plus
# Lambda's own service errors. PERMANENT_ERROR is deliberately absent.
RETRYABLE_ERRORS = [
    TRANSIENT_ERROR,
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]
MAX_ERROR_TEXT = 4000  # run.json keeps the gist of a failure, CloudWatch keeps the rest


class TransientError(Exception):
    """A stage failed in a way a retry may fix (throttling, a network blip, a transient query error)."""


class PermanentError(Exception):
    """A stage failed in a way a retry cannot fix (bad spec, bad data, failed verification)."""


@dataclass(frozen=True)
class RunEvent:
    run_id: str
    spec_uri: str
    resume: bool = False

    @classmethod
    def parse(cls, event: dict[str, Any]) -> RunEvent:
        try:
            return cls(check_run_id(str(event["run_id"])), str(event["spec_uri"]), bool(event.get("resume")))
        except (KeyError, ValueError) as exc:
            raise PermanentError(f"bad event {json.dumps(event, default=str)[:500]}: {exc}") from None


def _context(run: RunEvent) -> tuple[RunContext, containers.Container]:
    aws = AwsSettings.from_environment()
    spec = load_spec_uri(run.spec_uri, containers.s3_client(aws))
    container = containers.build_container(spec, Settings.from_environment(backend="aws"), run.spec_uri, aws)
    return containers.run_context(container, spec, run.run_id), container


def _state(ctx: RunContext, run: RunEvent, first: bool, now: float) -> RunState:
    """The run's state: started by the first stage (a retry of it resumes), else loaded; every
    stage also renews the root's lock, so a long run is never taken for a dead one."""
    store = ctx.ports.run_store
    existing = store.load(ctx.run_id)
    if first:
        resume = run.resume or (existing is not None and existing.status == "RUNNING")
        return start_run(ctx, now, resume=resume)
    if existing is None:
        raise SpecError(f"run {ctx.run_id} has no state at {ctx.ports.store.uri('runs/')}: start it with pre_cleanup")
    holder = store.acquire_lock(ctx.run_id, now, lock_stale_after(ctx.spec))
    if holder is not None:
        raise RunLockedError(f"run {holder} took over {ctx.ports.store.uri('')} while {ctx.run_id} was running")
    return existing


_RESERVED = frozenset({"event", "run_id", "stage", "seconds", "attempts"})


def _scalars(report: dict[str, Any]) -> dict[str, Any]:
    """What goes back to Step Functions and into events: scalars only (the full report stays in
    run.json), never overriding the fields the handler sets itself."""
    return {k: v for k, v in report.items() if isinstance(v, (int, float, str, bool)) and k not in _RESERVED}


def _step_functions_error(stage: str, exc: BaseException) -> Exception:
    kind = TransientError if is_retryable(exc) else PermanentError
    return kind(f"[{stage}] {type(exc).__name__}: {exc}")


def _execute(ctx: RunContext, state: RunState, stage: str) -> dict[str, Any]:
    if state.stage_done(stage):  # a resumed run (or a redriven execution) skips finished stages
        ctx.ports.events.emit("stage_skipped", stage=stage, reason="completed earlier in this run")
        return state.report(stage)
    previous = state.stages.get(stage)
    attempt = previous.attempts + 1 if previous else 1
    started = time.perf_counter()
    ctx.ports.events.emit("stage_started", stage=stage, kind="function", attempt=attempt)
    record_stage(ctx, state, stage, StageRecord("RUNNING", attempt))
    try:
        report = run_function_stage(ctx, stage)
    except Exception as exc:
        seconds = round(time.perf_counter() - started, 3)
        record_stage(ctx, state, stage, StageRecord("FAILED", attempt, seconds))
        ctx.ports.events.emit("stage_failed", stage=stage, error=str(exc), error_type=type(exc).__name__)
        raise
    seconds = round(time.perf_counter() - started, 3)
    record_stage(ctx, state, stage, StageRecord("SUCCEEDED", attempt, seconds, report))
    ctx.ports.events.emit("stage_succeeded", stage=stage, seconds=seconds, attempts=attempt, **_scalars(report))
    return report


def run_stage(event: dict[str, Any], stage: str, *, first: bool = False, last: bool = False) -> dict[str, Any]:
    """The body every stage handler shares."""
    run = RunEvent.parse(event)
    try:
        ctx, container = _context(run)
        state = _state(ctx, run, first, time.time())
        report = _execute(ctx, state, stage)
        if last:
            succeed_run(ctx, state, time.time())
        if stage == "batch_planning":
            bucket, key = containers.batch_items_location(container, ctx)
            report = {**report, "bucket": bucket, "items_key": key}
    except Exception as exc:
        raise _step_functions_error(stage, exc) from exc
    return {"run_id": run.run_id, "stage": stage, **_scalars(report)}


def pre_cleanup(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    return run_stage(event, "pre_cleanup", first=True)


def staging(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    return run_stage(event, "staging")


def features(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    return run_stage(event, "features")


def batch_planning(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    """Returns `batches`, `bucket` and `items_key` (the batch list's key in the bucket): the Map reads them."""
    return run_stage(event, "batch_planning")


def results_table(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    return run_stage(event, "results_table")


def aggregation(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    return run_stage(event, "aggregation")


def publish(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    return run_stage(event, "publish")


def cleanup(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    return run_stage(event, "cleanup", last=True)


def error_text(error: Any) -> str:
    """A Step Functions Catch's `{"Error", "Cause"}` as one line: a Lambda's errorMessage, an ECS
    task's exit code and stop reason, or the raw cause."""
    if not isinstance(error, dict):
        return str(error)[:MAX_ERROR_TEXT]
    name, cause = str(error.get("Error", "error")), error.get("Cause", "")
    try:
        detail = json.loads(cause) if isinstance(cause, str) and cause.startswith("{") else cause
    except ValueError:
        detail = cause
    if isinstance(detail, dict) and "errorMessage" in detail:
        text = str(detail["errorMessage"])
    elif isinstance(detail, dict) and "Containers" in detail:
        code = (detail.get("Containers") or [{}])[0].get("ExitCode")
        text = f"task exit code {code}: {detail.get('StoppedReason', 'no reason given')}"
    else:
        text = str(detail)
    return f"{name}: {text}"[:MAX_ERROR_TEXT]


def record_failure(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    """The failure route: record which stage failed and why; published results stay as they were."""
    run = RunEvent.parse(event)
    ctx, _ = _context(run)
    stage, now = str(event.get("stage") or "unknown"), time.time()
    # No state means the run failed before it started (pre_cleanup's lock or spec): record it anyway.
    state = ctx.ports.run_store.load(run.run_id)
    if state is None:
        state = RunState(run_id=run.run_id, fingerprints=ctx.spec.fingerprints(), started_at=now)
    batch = event.get("batch")
    end_run_failed(ctx, state, stage, error_text(event.get("error")), now, None if batch is None else int(batch))
    return {"run_id": run.run_id, "status": "FAILED", "stage": stage}


STOPPED_STATUSES = ("ABORTED", "TIMED_OUT")


def execution_stopped(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    """EventBridge's "Step Functions Execution Status Change" for an execution that was stopped
    or timed out: no Catch runs then, so the run would stay RUNNING and hold the root's lock
    until it went stale (an hour by default). End it FAILED and free the root, unless another
    execution of the run is running (a resume started since the stop)."""
    detail = event.get("detail") or {}
    status = str(detail.get("status"))
    try:
        run_input = json.loads(detail.get("input") or "{}")
    except ValueError:
        run_input = {}
    try:
        run = RunEvent.parse(run_input if isinstance(run_input, dict) else {})
    except PermanentError as exc:  # not a pipeline run's input: nothing of ours to end, and a retry changes nothing
        return {"status": status, "changed": False, "ignored": str(exc)}
    if status not in STOPPED_STATUSES:
        return {"run_id": run.run_id, "status": status, "changed": False}
    ctx, container = _context(run)
    state = ctx.ports.run_store.load(run.run_id)
    if state is None or state.status != "RUNNING":
        return {"run_id": run.run_id, "status": state.status if state else "NONE", "changed": False}
    running = containers.launcher(container, str(detail.get("stateMachineArn")), ctx.ports.events).running(run.run_id)
    if running:
        return {"run_id": run.run_id, "status": "RUNNING", "changed": False, "running": running[0]}
    stage = running_stage(state) or "unknown"
    error = f"execution {status}: {detail.get('executionArn', '?')} (stopped from outside the pipeline)"
    end_run_failed(ctx, state, stage, error, time.time())
    return {"run_id": run.run_id, "status": "FAILED", "stage": stage, "changed": True}
