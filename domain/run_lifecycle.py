"""Starting, resuming and ending a run: the lock, the persisted state and the failure route."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.context import RunContext
from domain.errors import RunLockedError, SpecError
from domain.graph import StageKind, build_graph
from domain.ports.run_store import LockHolder
from domain.run_state import Failure, RunState, StageRecord
from domain.services.batching import load_manifest
from domain.services.publication import protected_locations
from domain.services.removal import remove_tables
from domain.services.training import card_report, load_card
from domain.spec import STAGE_NAMES, PipelineSpec

# How long a lock the local orchestrator holds may stay silent: it renews it every 30 s.
LOCK_STALE_AFTER_SECONDS = 300.0


def lock_stale_after(spec: PipelineSpec) -> float:
    """How long a silent lock is honoured on AWS, where nothing renews it while a Fargate task
    runs: never less than the longest stage timeout (plus a minute)."""
    longest = max(spec.retry_for(stage).timeout_seconds for stage in STAGE_NAMES)
    return max(LOCK_STALE_AFTER_SECONDS, longest + 60.0)


def run_fingerprints(ctx: RunContext) -> dict[str, str]:
    """What a resumed run must find unchanged: each spec section, each SQL file, the source files."""
    return {**ctx.spec.fingerprints(), "source files": ctx.ports.engine.source_fingerprint(ctx.spec.source.path)}


def check_resumable(ctx: RunContext, state: RunState | None, resume: bool, fingerprints: dict[str, str]) -> None:
    """SpecError unless the run can start (resume=False: it must be new) or continue (resume=True)."""
    if resume and state is None:
        raise SpecError(f"there is no run {ctx.run_id} under {ctx.ports.store.uri('runs/')} to resume")
    if not resume and state is not None:
        raise SpecError(f"run {ctx.run_id} already exists; pass it to --resume to continue it")
    if state is None:
        return
    if state.status == "SUCCEEDED":
        raise SpecError(f"run {ctx.run_id} already succeeded; there is nothing to resume")
    if state.status == "ABANDONED":
        raise SpecError(f"run {ctx.run_id} was abandoned (a later run cleaned up its data); start a new run")
    if state.failure is not None and state.failure.data_removed:
        raise SpecError(
            f"run {ctx.run_id} ran out of disk and its intermediate data was removed to free it; "
            "free some space and start a new run"
        )
    changed = sorted(
        k for k in fingerprints.keys() | state.fingerprints.keys() if fingerprints.get(k) != state.fingerprints.get(k)
    )
    if changed:
        raise SpecError(
            f"run {ctx.run_id} cannot be resumed: changed since it started: {', '.join(changed)} "
            "(a resumed run must compute what the original would have); start a new run instead"
        )


def start_run(ctx: RunContext, now: float, *, resume: bool = False, stale_after: float | None = None) -> RunState:
    """Take the root's lock and return the run's state: new, or the persisted one to resume.

    `stale_after`: how long the lock may go without a heartbeat before another run takes it
    over; by default the AWS figure (`lock_stale_after`), the local orchestrator passes its own."""
    run_store = ctx.ports.run_store
    fingerprints = run_fingerprints(ctx)
    check_resumable(ctx, run_store.load(ctx.run_id), resume, fingerprints)
    stale_after = stale_after if stale_after is not None else lock_stale_after(ctx.spec)
    holder = run_store.acquire_lock(ctx.run_id, now, stale_after)
    if holder is not None:
        raise RunLockedError(locked_message(ctx, holder, run_store.lock_holder(), now, stale_after))
    state = run_store.load(ctx.run_id) or RunState(
        run_id=ctx.run_id,
        fingerprints=fingerprints,
        started_at=now,
    )
    state.status, state.failure, state.finished_at = "RUNNING", None, None
    run_store.save(state)
    ctx.ports.events.emit("run_started", stages=len(state.stages), resumed=bool(state.stages))
    return state


def locked_message(ctx: RunContext, run_id: str, holder: LockHolder | None, now: float, stale_after: float) -> str:
    """Who holds the root and when its lock can be taken over, in the holder's own terms."""
    text = f"run {run_id} is active on {ctx.ports.store.uri('')}: wait for it to end"
    if holder is not None and holder.run_id == run_id:
        silent = (holder.stale_after if holder.stale_after is not None else stale_after) / 60
        left, ago = max(0.0, holder.stale_at(stale_after) - now), now - holder.heartbeat
        text += (
            f". If it died, its lock is taken over at once on {holder.host or 'the machine it ran on'}, "
            f"from elsewhere once its heartbeat is {silent:g} minutes old (last heartbeat {ago:.0f}s ago, "
            f"so in {left:.0f}s)"
        )
    return f"{text}. If it was stopped, continue it with --resume {run_id}"


def record_stage(ctx: RunContext, state: RunState, stage: str, record: StageRecord) -> None:
    state.stages[stage] = record
    ctx.ports.run_store.save(state)


def fail_run(
    ctx: RunContext,
    state: RunState,
    stage: str,
    error: str,
    now: float,
    batch: int | None = None,
    *,
    retryable: bool | None = None,
    disk_full: bool = False,
) -> None:
    """The failure route: record what failed and where; published results stay as they were.

    A run that filled the disk (`disk_full`) also removes its intermediate data, unless the spec
    keeps it, so the next run finds room: it cannot be resumed then, and says so."""
    removing = disk_full and not ctx.spec.output.keep_intermediates
    state.status, state.finished_at = "FAILED", now
    state.failure = Failure(stage=stage, error=error, batch=batch, retryable=retryable, data_removed=removing)
    ctx.ports.run_store.save(state)  # the run store keeps room for this even on a full disk
    ctx.ports.events.emit("run_failed", stage=stage, batch=batch, error=error)
    if removing:
        unpublished = [*ctx.layout.intermediate_tables, ctx.layout.results]
        removed = remove_tables(ctx.ports, unpublished, protected_locations(ctx.ports, ctx.spec.output.table))
        ctx.ports.events.emit("disk_freed", objects_deleted=removed.objects)
    ctx.ports.run_store.release_lock(ctx.run_id)


def end_run_failed(
    ctx: RunContext, state: RunState, stage: str, error: str, now: float, batch: int | None = None
) -> None:
    """The failure route from outside the run (a Step Functions Catch, a stopped execution): the
    stage still marked RUNNING (its Lambda timed out, its execution was stopped) is closed as
    FAILED first, then the run ends as fail_run ends it."""
    record = state.stages.get(stage)
    if record is not None and record.status == "RUNNING":
        record_stage(ctx, state, stage, StageRecord("FAILED", record.attempts, record.seconds))
    fail_run(ctx, state, stage, error, now, batch)


def running_stage(state: RunState) -> str | None:
    """The stage the run's state shows as running, if any."""
    return next((name for name, record in state.stages.items() if record.status == "RUNNING"), None)


def succeed_run(ctx: RunContext, state: RunState, now: float) -> None:
    state.status, state.finished_at = "SUCCEEDED", now
    ctx.ports.run_store.save(state)
    ctx.ports.events.emit("run_succeeded", seconds=round(now - state.started_at, 3))
    ctx.ports.run_store.release_lock(ctx.run_id)


def task_stage_report(ctx: RunContext, stage: str) -> dict[str, Any]:
    """Reports of stages that ran in containers, read back from what the tasks wrote."""
    if stage == "training":
        return card_report(load_card(ctx))
    # A batch task refuses to write anything but its manifest row count, so once the stage has
    # succeeded the manifest is the count: one read, where the marks are one read per batch.
    manifest = load_manifest(ctx)
    return {"batches": len(manifest.batches), "predicted_rows": manifest.total_rows}


def record_watched_stages(ctx: RunContext, state: RunState, ended: Mapping[str, tuple[int, float]]) -> None:
    """Add the container stages an execution ran to the run's state, from whoever watched it.

    On Step Functions nothing writes a record for training and prediction (a Fargate task does
    not own the run's state, and many run at once); the watcher of the execution knows each
    stage's attempts and seconds (`ended`), the tasks' own output gives the report. Stages keep
    the graph's order, so the summary reads as a local run's.
    """
    added = False
    for stage in build_graph(ctx.spec).stages:
        if stage.kind is not StageKind.FUNCTION and stage.name in ended and not state.stage_done(stage.name):
            attempts, seconds = ended[stage.name]
            report = task_stage_report(ctx, stage.name)
            state.stages[stage.name] = StageRecord("SUCCEEDED", attempts, seconds, report)
            added = True
    if added:
        state.stages = {name: state.stages[name] for name in STAGE_NAMES if name in state.stages}
        ctx.ports.run_store.save(state)
