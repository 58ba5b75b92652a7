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
from domain.retry import is_retryable
from domain.run_lifecycle import (
    end_run_failed,
    lock_stale_after,
    running_stage,
    start_run,
    succeed_run,
)
from domain.run_state import RunState
from domain.services import ingest
from domain.stage_invocation import invoke_stage, scalars
from entrypoints import containers
from entrypoints.settings import AwsSettings, Settings
from entrypoints.spec_source import load_spec_uri

containers.preload_aws_adapters()  # at Lambda init, not in the first invocation

# How long one invocation waits for its Athena queries before it returns RUNNING and Step
# Functions invokes it again (adapters/aws/asl_states.py): waiting in a Wait state costs nothing,
# waiting in a Lambda costs its GB-seconds. And how far from the function's timeout it stops.
WAIT_SECONDS = 45.0
DEADLINE_MARGIN_SECONDS = 60.0
MAX_ERROR_TEXT = 4000  # run.json keeps the gist of a failure, CloudWatch keeps the rest


# Step Functions sees these class names as the error names: the state machine's Retry lists
# TransientError (adapters/aws/asl_states.py FUNCTION_RETRYABLE_ERRORS), never PermanentError.
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


def _context(run: RunEvent, wait_seconds: float | None = None) -> tuple[RunContext, containers.Container]:
    aws = AwsSettings.from_environment()
    spec = load_spec_uri(run.spec_uri, containers.s3_client(aws))
    settings = Settings.from_environment(backend="aws")
    container = containers.build_container(spec, settings, run.spec_uri, aws, run_id=run.run_id, wait=wait_seconds)
    return containers.run_context(container, spec, run.run_id), container


def wait_budget(context: object) -> float:
    """How long this invocation may wait for its queries: WAIT_SECONDS, and always well inside
    the function's own timeout (Lambda stops at 900 s at most), whatever it is configured to."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return WAIT_SECONDS
    return max(min(WAIT_SECONDS, float(remaining()) / 1000 - DEADLINE_MARGIN_SECONDS), 1.0)


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


def _step_functions_error(stage: str, exc: BaseException) -> Exception:
    kind = TransientError if is_retryable(exc) else PermanentError
    return kind(f"[{stage}] {type(exc).__name__}: {exc}")


def run_stage(
    event: dict[str, Any], stage: str, context: object = None, *, first: bool = False, last: bool = False
) -> dict[str, Any]:
    """The body every stage handler shares: one invocation of the stage (domain/stage_invocation.py).
    Returns `status` (SUCCEEDED, RUNNING or INGEST) and, for a fan-out, where its list is."""
    run = RunEvent.parse(event)
    try:
        ctx, container = _context(run, wait_budget(context))
        state = _state(ctx, run, first, time.time())
        invocation = invoke_stage(ctx, state, stage, time.time)
        if last and invocation.status == "SUCCEEDED":
            succeed_run(ctx, state, time.time())
        bucket, key = containers.s3_location(container, invocation.fan_out.key) if invocation.fan_out else ("", "")
    except Exception as exc:
        raise _step_functions_error(stage, exc) from exc
    count = invocation.fan_out.count if invocation.fan_out else 0
    step = {"status": invocation.status, "count": count, "items_key": key, "bucket": bucket}
    return {"run_id": run.run_id, "stage": stage, **scalars(invocation.report), **step}


def staging_ingest(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    """One ingest item of the staging stage's fan-out (a Map iteration): a file, or a byte range
    of a large one, into the raw table. Bounded by the item's size, far inside Lambda's 900 s."""
    run = RunEvent.parse(event)
    try:
        item = int(event["item"])
        ctx, _ = _context(run)
        return {"run_id": run.run_id, **ingest.ingest_one(ctx, item)}
    except (KeyError, ValueError) as exc:
        raise PermanentError(f"bad ingest event {json.dumps(event, default=str)[:300]}: {exc}") from None
    except Exception as exc:
        raise _step_functions_error("staging", exc) from exc


def pre_cleanup(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    return run_stage(event, "pre_cleanup", context, first=True)


def staging(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    return run_stage(event, "staging", context)


def features(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    return run_stage(event, "features", context)


def batch_planning(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    """Returns `count`, `bucket` and `items_key`: the batches still to predict, which the Map reads."""
    return run_stage(event, "batch_planning", context)


def results_table(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    return run_stage(event, "results_table", context)


def aggregation(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    return run_stage(event, "aggregation", context)


def publish(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    return run_stage(event, "publish", context)


def cleanup(event: dict[str, Any], context: object = None) -> dict[str, Any]:
    return run_stage(event, "cleanup", context, last=True)


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
