"""The local orchestrator: walks the domain's stage graph the way Step Functions would.

Per stage: retries with the graph's attempts, interval, backoff rate and jitter; a timeout;
on a final failure, the failure route (record the error and the stage, then stop). The map
stage runs one task per manifest batch with at most `max_concurrency` at once, each batch
with its own retries, and skips batches a previous attempt of the run completed.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from domain.context import RunContext
from domain.errors import StageError, TaskFailedError
from domain.faults import FaultPlan
from domain.graph import Stage, StageGraph, StageKind
from domain.pipeline import planned_batches, run_function_stage
from domain.ports.task_runner import TaskRunner, TaskSpec
from domain.retry import backoff_delay, is_disk_full, is_retryable
from domain.run_lifecycle import fail_run, record_stage, succeed_run, task_stage_report
from domain.run_state import RunState, StageRecord
from domain.spec import RetrySpec

T = TypeVar("T")


class BatchFailed(Exception):
    def __init__(self, batch: int, error: BaseException) -> None:
        super().__init__(str(error))
        self.batch = batch
        self.error = error


class LocalOrchestrator:
    def __init__(
        self,
        ctx: RunContext,
        graph: StageGraph,
        runner: TaskRunner,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        heartbeat_seconds: float = 30.0,
        stage_function: Callable[[RunContext, str], dict[str, Any]] = run_function_stage,
        batches: Callable[[RunContext], list[int]] = planned_batches,
        task_report: Callable[[RunContext, str], dict[str, Any]] = task_stage_report,
        faults: FaultPlan | None = None,
    ) -> None:
        self.ctx, self.graph, self.runner = ctx, graph, runner
        self.sleep, self.clock = sleep, clock
        self.rng = rng or random.Random()
        self.heartbeat_seconds = heartbeat_seconds
        self.events = ctx.ports.events
        # The domain's stage services by default; tests substitute their own.
        self.stage_function, self.batches, self.task_report = stage_function, batches, task_report
        self.faults = faults or FaultPlan()
        self._batches_done = 0
        self._lock_lost: str | None = None  # set by the heartbeat: who took the root's lock over
        self._count_lock = threading.Lock()

    # -- the run ------------------------------------------------------------------------------
    def execute(self, state: RunState) -> RunState:
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(stop,), daemon=True)
        beat.start()
        try:
            stages = self.graph.stages
            tasks = [i for i, s in enumerate(stages) if s.kind is not StageKind.FUNCTION]
            last_task = max(tasks, default=-1)
            # Warm the runner up one stage ahead of the first task: a fork server then imports
            # scikit-learn while features run, not while staging does, when memory peaks
            # (started with the run, it added 0.26 GB to staging's 10M-row peak). Started with
            # the run, it also slowed staging: 6.2-6.3 s against 4.3-5.3 at 1M rows and 39.4-40.1
            # s against 37.1-40.2 at 10M in full benchmark runs, though a 1M run's training then
            # no longer waited for it. A resumed run with no task left starts none.
            warm_up = max(min(tasks) - 1, 0) if tasks else None
            tasks_left = any(not state.stage_done(stages[i].name) for i in tasks)
            for i, stage in enumerate(stages):
                if i == warm_up and tasks_left:
                    self.runner.prepare()
                if i > last_task:
                    # No task is left: a warm task server would only hold memory (a fork server
                    # with scikit-learn loaded is ~0.26 GB) through aggregation and publish.
                    self.runner.release()
                if state.stage_done(stage.name):
                    self.events.emit("stage_skipped", stage=stage.name, reason="completed earlier in this run")
                    continue
                if self._lock_lost is not None:
                    # Another run took the root over (this one was silent too long): going on
                    # would have two runs clean up and publish over each other.
                    error = (
                        f"the root's lock was taken over by run {self._lock_lost}; this run stopped before {stage.name}"
                    )
                    fail_run(self.ctx, state, stage.name, error, self.clock())
                    return state
                if not self._execute_stage(stage, state):
                    return state
            succeed_run(self.ctx, state, self.clock())
            return state
        finally:
            stop.set()

    def _heartbeat(self, stop: threading.Event) -> None:
        while not stop.wait(self.heartbeat_seconds):
            try:
                held = self.ctx.ports.run_store.refresh_lock(self.ctx.run_id, self.clock())
            except Exception as exc:  # a full disk, a lost network: try again at the next beat
                self.events.emit("heartbeat_failed", error=str(exc), error_type=type(exc).__name__)
                continue
            if not held:
                holder = self.ctx.ports.run_store.lock_holder()
                self._lock_lost = holder.run_id if holder else "nobody"
                self.events.emit("lock_lost", holder=self._lock_lost)
                return

    def _execute_stage(self, stage: Stage, state: RunState) -> bool:
        if self.faults.kill_before_stage == stage.name:
            _kill_self(f"before stage {stage.name}")
        started = time.perf_counter()
        attempts = [0]
        try:
            self.events.emit("stage_started", stage=stage.name, kind=stage.kind.value)
            record_stage(self.ctx, state, stage.name, StageRecord(status="RUNNING"))
            report = self._dispatch(stage, attempts)
        except Exception as exc:
            batch = exc.batch if isinstance(exc, BatchFailed) else None
            error = exc.error if isinstance(exc, BatchFailed) else exc
            seconds = time.perf_counter() - started
            record_stage(self.ctx, state, stage.name, StageRecord("FAILED", attempts[0], round(seconds, 3)))
            self.events.emit(
                "stage_failed",
                stage=stage.name,
                batch=batch,
                error=str(error),
                error_type=type(error).__name__,
                seconds=round(seconds, 3),
            )
            fail_run(
                self.ctx,
                state,
                stage.name,
                str(error),
                self.clock(),
                batch,
                retryable=is_retryable(error),
                disk_full=is_disk_full(error),
            )
            return False
        seconds = time.perf_counter() - started
        record_stage(self.ctx, state, stage.name, StageRecord("SUCCEEDED", attempts[0], round(seconds, 3), report))
        self.events.emit(
            "stage_succeeded", stage=stage.name, seconds=round(seconds, 3), attempts=attempts[0], **_loggable(report)
        )
        return True

    def _dispatch(self, stage: Stage, attempts: list[int]) -> dict[str, Any]:
        if stage.kind is StageKind.FUNCTION:
            return self._with_retries(
                stage.name, stage.retry, attempts, None, lambda: self._function(stage, attempts[0])
            )
        if stage.kind is StageKind.TASK:
            self._with_retries(stage.name, stage.retry, attempts, None, lambda: self._task(stage, None, attempts[0]))
            return self.task_report(self.ctx, stage.name)
        self._map(stage, attempts)
        return self.task_report(self.ctx, stage.name)

    # -- retries -------------------------------------------------------------------------------
    def _with_retries(
        self, stage: str, policy: RetrySpec, attempts: list[int], batch: int | None, call: Callable[[], T]
    ) -> T:
        attempt = 0
        while True:
            attempt += 1
            attempts[0] = max(attempts[0], attempt)
            try:
                return call()
            except Exception as exc:
                if attempt >= policy.max_attempts or not is_retryable(exc):
                    raise
                delay = backoff_delay(policy, attempt, self.rng)
                self.events.emit(
                    "retry",
                    stage=stage,
                    batch=batch,
                    attempt=attempt,
                    next_attempt=attempt + 1,
                    delay_seconds=round(delay, 3),
                    error=str(exc),
                    error_type=type(exc).__name__,
                )
                self.sleep(delay)

    # -- the three kinds of stage ----------------------------------------------------------------
    def _function(self, stage: Stage, attempt: int) -> dict[str, Any]:
        self.faults.check_stage(stage.name, attempt)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"stage-{stage.name}")
        future = pool.submit(self.stage_function, self.ctx, stage.name)
        try:
            return future.result(timeout=stage.timeout_seconds)
        except FutureTimeout:
            # A thread cannot be killed, but its statements can: they stop writing now. A
            # timed-out stage is still final, never retried alongside itself.
            stopped = self.ctx.ports.engine.cancel_running()
            detail = f"; stopped {stopped} running statement(s)" if stopped else ""
            raise StageError(stage.name, f"timed out after {stage.timeout_seconds}s{detail}") from None
        finally:
            pool.shutdown(wait=False)

    def _task(self, stage: Stage, batch: int | None, attempt: int) -> None:
        self.faults.check_stage(stage.name, attempt)  # training, or each batch of prediction
        task = TaskSpec(
            role="train" if stage.kind is StageKind.TASK else "predict",
            run_id=self.ctx.run_id,
            batch=batch,
            attempt=attempt,
            env={"BATCHML_TASK_ATTEMPT": str(attempt)},
        )
        outcome = self.runner.run(task, stage.timeout_seconds)
        if not outcome.succeeded:
            raise TaskFailedError(
                task.task_id, outcome.reason, exit_code=outcome.exit_code, transient=not outcome.permanent
            )

    def _count_batch(self) -> None:
        with self._count_lock:
            self._batches_done += 1
            if self._batches_done == self.faults.kill_after_batches:
                _kill_self(f"after {self._batches_done} batches")

    def _map(self, stage: Stage, attempts: list[int]) -> None:
        batches = self.batches(self.ctx)
        done = self.ctx.ports.run_store.batch_marks(self.ctx.run_id)
        pending = [b for b in batches if b not in done]
        unused = self.faults.unused_batch_rules(batches, len(pending))
        if unused:  # a fault that could never fire would pass for a run that survived it
            raise StageError(stage.name, unused)
        self.events.emit(
            "map_started",
            stage=stage.name,
            batches=len(batches),
            pending=len(pending),
            skipped=len(batches) - len(pending),
            max_concurrency=self.graph.max_concurrency,
        )
        abort = threading.Event()

        def one(batch: int) -> None:
            if abort.is_set():
                return
            batch_attempts = [0]
            started = time.perf_counter()
            self.events.emit("batch_started", stage=stage.name, batch=batch)
            try:
                self._with_retries(
                    stage.name, stage.retry, batch_attempts, batch, lambda: self._task(stage, batch, batch_attempts[0])
                )
            except Exception as exc:
                self.events.emit(
                    "batch_failed", stage=stage.name, batch=batch, attempt=batch_attempts[0], error=str(exc)
                )
                raise BatchFailed(batch, exc) from exc
            finally:
                attempts[0] = max(attempts[0], batch_attempts[0])
            self._count_batch()
            self.events.emit(
                "batch_succeeded",
                stage=stage.name,
                batch=batch,
                attempts=batch_attempts[0],
                seconds=round(time.perf_counter() - started, 3),
            )

        with ThreadPoolExecutor(max_workers=self.graph.max_concurrency, thread_name_prefix="batch") as pool:
            futures: list[Future[None]] = [pool.submit(one, b) for b in pending]
            finished, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = [f for f in finished if f.exception() is not None]
            if failed:
                abort.set()  # like a Map state failing: start no further batches
                for future in futures:
                    future.cancel()
                error = failed[0].exception()
                assert error is not None
                raise error


def _kill_self(point: str) -> None:
    """Fault injection: die the way a killed machine does, with no chance to clean up."""
    print(f"batchml: fault injection kills this process {point}", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def _loggable(report: dict[str, Any]) -> dict[str, Any]:
    """Scalars only in the event line; lists and maps stay in run.json."""
    return {k: v for k, v in report.items() if isinstance(v, (int, float, str, bool)) and k not in ("stage",)}
