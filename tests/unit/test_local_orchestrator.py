"""The local orchestrator with fake stages and a fake task runner: retries, failure route,
map fan-out, resume. No DuckDB, no processes."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest

from adapters.local.orchestrator import LocalOrchestrator
from domain.context import RunContext
from domain.errors import DataQualityError, RunLockedError
from domain.faults import FaultPlan
from domain.graph import build_graph
from domain.ports.task_runner import PERMANENT_EXIT_CODE, TaskOutcome, TaskSpec
from domain.run_lifecycle import start_run
from domain.spec import STAGE_NAMES, PipelineSpec
from tests.unit.conftest import spec_data
from tests.unit.fakes import FakeEventLog, FakeRunStore, FakeTaskRunner


def orchestrate(
    ctx: RunContext,
    runner: FakeTaskRunner,
    *,
    failing_stage: tuple[str, list[Exception]] | None = None,
    batches: int = 4,
    retry: dict[str, Any] | None = None,
) -> tuple[LocalOrchestrator, list[float]]:
    spec = PipelineSpec.model_validate(
        spec_data(retry=retry or {"default": {"interval_seconds": 1.0, "backoff_rate": 2.0, "jitter": "none"}})
    )
    ctx = RunContext(spec=spec, run_id=ctx.run_id, ports=ctx.ports)
    errors = list(failing_stage[1]) if failing_stage else []

    def stage_function(_ctx: RunContext, name: str) -> dict[str, Any]:
        if failing_stage and name == failing_stage[0] and errors:
            raise errors.pop(0)
        return {"stage": name}

    def mark_batches(task: TaskSpec) -> TaskOutcome:
        outcome = runner_script(task)
        if outcome.succeeded and task.batch is not None:
            ctx.ports.run_store.mark_batch(ctx.run_id, task.batch, 10)
        return outcome

    runner_script = runner.script
    runner.script = mark_batches
    slept: list[float] = []
    orchestrator = LocalOrchestrator(
        ctx,
        build_graph(spec),
        runner,
        sleep=slept.append,
        rng=random.Random(1),
        stage_function=stage_function,
        batches=lambda _ctx: list(range(batches)),
        task_report=lambda _ctx, name: {"stage": name},
    )
    return orchestrator, slept


def events(ctx: RunContext) -> FakeEventLog:
    log = ctx.ports.events
    assert isinstance(log, FakeEventLog)
    return log


def test_a_clean_run_executes_every_stage_in_order(ctx: RunContext) -> None:
    runner = FakeTaskRunner()
    orchestrator, _ = orchestrate(ctx, runner)
    state = orchestrator.execute(start_run(ctx, time.time()))
    assert state.status == "SUCCEEDED"
    assert [e["stage"] for e in events(ctx).named("stage_succeeded")] == list(STAGE_NAMES)
    assert runner.calls[0].task_id == "train"
    assert sorted(t.batch for t in runner.calls if t.role == "predict") == [0, 1, 2, 3]  # type: ignore[type-var]


def test_the_runner_is_warmed_up_before_the_first_task_and_released_after_the_last(ctx: RunContext) -> None:
    runner = FakeTaskRunner()
    orchestrator, _ = orchestrate(ctx, runner)
    orchestrator.execute(start_run(ctx, time.time()))
    log = runner.log
    assert log[0] == "<prepare>" and log.count("<prepare>") == 1
    assert log[1] == "train"
    first_release = log.index("<release>")
    assert first_release > max(i for i, name in enumerate(log) if name.startswith("predict"))
    assert all(name == "<release>" for name in log[first_release:])  # no task after it


def test_transient_failures_are_retried_with_growing_delays(ctx: RunContext) -> None:
    orchestrator, slept = orchestrate(ctx, FakeTaskRunner(), failing_stage=("features", [OSError("a"), OSError("b")]))
    state = orchestrator.execute(start_run(ctx, time.time()))
    assert state.status == "SUCCEEDED"
    assert slept == [1.0, 2.0]
    retries = events(ctx).named("retry")
    assert [(r["stage"], r["attempt"], r["delay_seconds"]) for r in retries] == [
        ("features", 1, 1.0),
        ("features", 2, 2.0),
    ]
    assert state.stages["features"].attempts == 3


def test_a_permanent_error_takes_the_failure_route_at_once(ctx: RunContext) -> None:
    orchestrator, slept = orchestrate(
        ctx, FakeTaskRunner(), failing_stage=("staging", [DataQualityError("2% rejected")])
    )
    state = orchestrator.execute(start_run(ctx, time.time()))
    assert state.status == "FAILED" and slept == []
    assert state.failure is not None and (state.failure.stage, state.failure.error) == ("staging", "2% rejected")
    assert "features" not in state.stages
    run_store = ctx.ports.run_store
    assert isinstance(run_store, FakeRunStore) and run_store.lock is None  # released for the next run


def test_exhausted_retries_end_in_the_failure_route(ctx: RunContext) -> None:
    errors: list[Exception] = [OSError(f"try {n}") for n in range(5)]
    orchestrator, slept = orchestrate(ctx, FakeTaskRunner(), failing_stage=("publish", errors))
    state = orchestrator.execute(start_run(ctx, time.time()))
    assert state.status == "FAILED" and state.failure and state.failure.error == "try 2"
    assert len(slept) == 2  # max_attempts 3 = first try + 2 retries


def test_a_batch_that_fails_twice_then_succeeds_is_retried_alone(ctx: RunContext) -> None:
    failures = {2: 2}

    def script(task: TaskSpec) -> TaskOutcome:
        if task.batch in failures and failures[task.batch] > 0:
            failures[task.batch] -= 1
            return TaskOutcome(task.task_id, False, 1, "container exit 1", 0.1)
        return TaskOutcome(task.task_id, True, 0, "", 0.1)

    runner = FakeTaskRunner(script)
    orchestrator, slept = orchestrate(ctx, runner)
    state = orchestrator.execute(start_run(ctx, time.time()))
    assert state.status == "SUCCEEDED"
    assert [t.attempt for t in runner.calls if t.batch == 2] == [1, 2, 3]
    assert [t.attempt for t in runner.calls if t.batch == 0] == [1]
    assert slept == [1.0, 2.0]


def test_a_batch_that_always_fails_fails_the_run_with_its_number(ctx: RunContext) -> None:
    def script(task: TaskSpec) -> TaskOutcome:
        ok = task.batch != 1
        return TaskOutcome(task.task_id, ok, 0 if ok else 1, "" if ok else "out of memory", 0.1)

    orchestrator, _ = orchestrate(ctx, FakeTaskRunner(script))
    state = orchestrator.execute(start_run(ctx, time.time()))
    assert state.status == "FAILED" and state.failure is not None
    assert (state.failure.stage, state.failure.batch) == ("prediction", 1)
    assert "out of memory" in state.failure.error
    assert "aggregation" not in state.stages


def test_a_permanent_task_failure_is_not_retried(ctx: RunContext) -> None:
    runner = FakeTaskRunner(lambda t: TaskOutcome(t.task_id, False, PERMANENT_EXIT_CODE, "schema mismatch", 0.1))
    orchestrator, slept = orchestrate(ctx, runner)
    state = orchestrator.execute(start_run(ctx, time.time()))
    assert state.failure is not None and state.failure.stage == "training"
    assert len(runner.calls) == 1 and slept == []


def test_the_map_never_runs_more_than_max_concurrency_tasks(ctx: RunContext) -> None:
    running, peak = [0], [0]
    lock = threading.Lock()

    def script(task: TaskSpec) -> TaskOutcome:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return TaskOutcome(task.task_id, True, 0, "", 0.02)

    orchestrator, _ = orchestrate(ctx, FakeTaskRunner(script), batches=12)
    assert orchestrator.execute(start_run(ctx, time.time())).status == "SUCCEEDED"
    assert peak[0] == ctx.spec.batches.max_concurrency == 2


def test_resume_skips_finished_stages_and_batches(ctx: RunContext) -> None:
    runner = FakeTaskRunner(lambda t: TaskOutcome(t.task_id, t.batch != 3, 0 if t.batch != 3 else 1, "boom", 0.0))
    orchestrator, _ = orchestrate(ctx, runner, retry={"default": {"max_attempts": 1}})
    assert orchestrator.execute(start_run(ctx, time.time())).status == "FAILED"
    calls_before = len(runner.calls)

    runner.script = lambda t: TaskOutcome(t.task_id, True, 0, "", 0.0)
    resumed, _ = orchestrate(ctx, runner, retry={"default": {"max_attempts": 1}})
    state = resumed.execute(start_run(ctx, time.time(), resume=True))
    assert state.status == "SUCCEEDED"
    again = runner.calls[calls_before:]
    assert [t.task_id for t in again] == ["predict-00003"]  # training and batches 0-2 were done
    skipped = [e["stage"] for e in events(ctx).named("stage_skipped")]
    assert skipped == ["pre_cleanup", "staging", "features", "training", "batch_planning", "results_table"]


def test_a_resumed_run_with_no_task_left_starts_no_task_server(ctx: RunContext) -> None:
    """Warming the runner up costs a fork server's imports (1.5 s of a core, 0.26 GB): a run
    resumed after its last batch has no task to give it."""
    runner = FakeTaskRunner()
    once = {"default": {"max_attempts": 1}}
    orchestrator, _ = orchestrate(ctx, runner, retry=once, failing_stage=("aggregation", [ValueError("bad")]))
    assert orchestrator.execute(start_run(ctx, time.time())).status == "FAILED"
    runner.log.clear()
    resumed, _ = orchestrate(ctx, runner)
    assert resumed.execute(start_run(ctx, time.time(), resume=True)).status == "SUCCEEDED"
    assert "<prepare>" not in runner.log


def test_a_function_stage_that_times_out_has_its_statements_stopped(ctx: RunContext) -> None:
    """A thread cannot be killed, but the engine's statements can: a timed-out stage must not go
    on writing where the run's next attempt or resume will write."""
    release = threading.Event()
    spec = PipelineSpec.model_validate(spec_data(retry={"features": {"timeout_seconds": 1}}))
    ctx = RunContext(spec=spec, run_id=ctx.run_id, ports=ctx.ports)

    def stage_function(_ctx: RunContext, name: str) -> dict[str, Any]:
        if name == "features":
            release.wait(5)
        return {}

    orchestrator = LocalOrchestrator(ctx, build_graph(spec), FakeTaskRunner(), stage_function=stage_function)
    try:
        state = orchestrator.execute(start_run(ctx, time.time()))
    finally:
        release.set()
    assert state.status == "FAILED" and state.failure is not None
    assert "timed out after 1s" in state.failure.error
    assert ctx.ports.engine.cancelled == 1  # type: ignore[attr-defined]


def test_a_training_stage_fault_fails_training_instead_of_being_ignored(ctx: RunContext) -> None:
    runner = FakeTaskRunner()
    orchestrator, _ = orchestrate(ctx, runner)
    orchestrator.faults = FaultPlan.parse("stage=training:permanent")
    state = orchestrator.execute(start_run(ctx, time.time()))
    assert state.failure is not None and state.failure.stage == "training"
    assert "injected permanent fault in stage training" in state.failure.error
    assert runner.calls == []  # the fault came before the task


def test_a_prediction_stage_fault_fails_each_batch_task(ctx: RunContext) -> None:
    runner = FakeTaskRunner()
    orchestrator, _ = orchestrate(ctx, runner)
    orchestrator.faults = FaultPlan.parse("stage=prediction:transient=1")
    state = orchestrator.execute(start_run(ctx, time.time()))
    assert state.status == "SUCCEEDED"
    assert sorted(t.attempt for t in runner.calls if t.batch is not None) == [2, 2, 2, 2]


def test_a_batch_fault_for_a_batch_that_was_not_planned_fails_the_stage(ctx: RunContext) -> None:
    orchestrator, _ = orchestrate(ctx, FakeTaskRunner(), batches=3)
    orchestrator.faults = FaultPlan.parse("batch=7:permanent")
    state = orchestrator.execute(start_run(ctx, time.time()))
    assert state.failure is not None and state.failure.stage == "prediction"
    assert "fault rule batch=7: the run planned batches 0 to 2" in state.failure.error
    assert state.status == "FAILED"


def test_the_lock_message_states_the_holders_own_stale_time(ctx: RunContext) -> None:
    ctx.ports.run_store.acquire_lock("other-run", now=1000.0, stale_after_seconds=300.0)
    with pytest.raises(RunLockedError) as raised:
        start_run(ctx, 1100.0, stale_after=300.0)
    said = str(raised.value)
    assert "run other-run is active on fake://: wait for it to end" in said
    assert "from elsewhere once its heartbeat is 5 minutes old (last heartbeat 100s ago, so in 200s)" in said
    assert said.endswith("If it was stopped, continue it with --resume other-run")


def test_a_run_whose_lock_was_taken_over_stops_at_the_next_stage(ctx: RunContext) -> None:
    runner = FakeTaskRunner()
    orchestrator, _ = orchestrate(ctx, runner)
    run_store = ctx.ports.run_store
    assert isinstance(run_store, FakeRunStore)
    state = start_run(ctx, time.time())
    run_store.lock = ("intruder", time.time(), 300.0)  # taken over while this run was silent
    orchestrator.heartbeat_seconds = 0.01
    original = orchestrator.stage_function

    def slow_features(inner: RunContext, name: str) -> dict[str, Any]:
        if name == "features":
            time.sleep(0.2)  # a few heartbeats
        return original(inner, name)

    orchestrator.stage_function = slow_features
    state = orchestrator.execute(state)
    assert state.status == "FAILED" and state.failure is not None
    assert state.failure.stage == "training"
    assert "taken over by run intruder" in state.failure.error
    assert run_store.lock is not None and run_store.lock[0] == "intruder"  # not released: not ours
    assert events(ctx).named("lock_lost")
