"""Tasks as processes forked from a warm server: a new OS process per task, no import cost.

A fresh interpreter spends 2-3.5 s importing scikit-learn, pandas and pyarrow before a task
does any work (measured with -X importtime), which for 100k-row batches is a third of the
task. Here a fork server imports the task's code once; each task is then a new process
forked from it: its own memory, its own exit code, killable at its timeout, exactly as
isolated as before, ready in milliseconds. The Docker runner is the closer stand-in for a
Fargate container; this one is the fast default on a laptop.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.forkserver
import os
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.context import ForkServerContext

from adapters.local.parent_death import START_FAILED_EXIT_CODE, START_FAILED_MARK, die_with_parent
from adapters.shared.task_output import failure_reason
from domain.ports.task_runner import TaskOutcome, TaskRunner, TaskSpec

GUARD_MODULE = "adapters.local.forkserver_guard"


# The fork server is one per process, shared by every runner: so is the thread stopping it.
# A task must not start while a stop is pending: the stop could take the server's lock after
# the task found the server alive (the task then connects to a dying server and exits 255),
# or, with two stops pending, the second would stop the fresh server the task just started.
_stop_lock = threading.Lock()
_pending_stop: threading.Thread | None = None


# Reading a task's exit code from the fork server is not thread-safe in the standard library:
# `Process.start()` polls every other running child (multiprocessing.process._cleanup), and
# when that poll and the child's own `join()` read the same exit code at once, the loser
# reads end-of-file and reports exit code 255 for a task that succeeded (CPython gh-130895,
# its fix PR #131440 still open). Two batch threads met it in about 1 task in 80
# (tests/integration/test_task_runner_contract.py). So a task is started, and its ended
# process reaped, only under this lock; the waiting for it happens outside, on its sentinel.
_reap_lock = threading.Lock()


# The server arms Linux's parent-death signal (forkserver_guard), which follows the *thread*
# that started it: a server started by a batch thread was killed when that thread ended, and
# the next task met a dying server. So the server is always started from one thread, which
# lives as long as the process: the starter's. A forked copy of this process inherits the
# executor without its thread (work given to it would wait forever), so each process makes its own.
_starter_lock = threading.Lock()
_starter: tuple[int, ThreadPoolExecutor] | None = None  # (the process it belongs to, the executor)


def _await_pending_stop() -> None:
    """Wait for a stop `release` began (0.3 s at most) so the next task gets a fresh server."""
    with _stop_lock:
        pending = _pending_stop
    if pending is not None:
        pending.join()


def _ensure_server() -> None:
    """A running fork server, started (if it is not) from the long-lived starter thread."""
    global _starter
    _await_pending_stop()
    with _starter_lock:
        if _starter is None or _starter[0] != os.getpid():
            _starter = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="forkserver-start"))
        starter = _starter[1]
    starter.submit(multiprocessing.forkserver.ensure_running).result()


def _child(entry: str, argv: list[str], env: dict[str, str], output: str) -> None:
    """Runs in the forked process: output to a file, the task's environment, then its entry."""
    die_with_parent()  # the fork server: a task never outlives it, nor it the orchestrator
    fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.environ.update(env)
    try:
        module, _, function = entry.partition(":")
        main = getattr(importlib.import_module(module), function or "main")
    except (ImportError, AttributeError, ValueError, TypeError) as exc:
        print(f"{START_FAILED_MARK}{entry}: {exc}", flush=True)
        os._exit(START_FAILED_EXIT_CODE)
    threads = env.get("OMP_NUM_THREADS")
    # The server loaded OpenMP already, so the variable alone would come too late: set the
    # limit on the running thread pools instead.
    limits = _thread_limits(int(threads)) if threads else contextlib.nullcontext()
    with limits:
        code = main(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(code or 0))  # skip exit handlers inherited from the server


def _thread_limits(threads: int) -> contextlib.AbstractContextManager[object]:
    from threadpoolctl import threadpool_limits

    limits: contextlib.AbstractContextManager[object] = threadpool_limits(limits=threads)
    return limits


class ForkServerTaskRunner(TaskRunner):
    """Runs `entry(args + task.arguments())` (entry: "module:function") in a forked process.

    Environment, as for the other runners: the server's, then `env`, then `role_env[role]`,
    then the task's own. `spin_count`: GOMP_SPINCOUNT for the server, which loads OpenMP
    (entrypoints/settings.py SPIN_COUNT has the measurements); None leaves OpenMP's default.
    """

    def __init__(
        self,
        entry: str,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        role_env: Mapping[str, Mapping[str, str]] | None = None,
        spin_count: str | None = None,
    ) -> None:
        self.entry = entry
        self.args = list(args)
        self.env = dict(env or {})
        self.role_env = {role: dict(values) for role, values in (role_env or {}).items()}
        self._context: ForkServerContext = multiprocessing.get_context("forkserver")
        module = entry.partition(":")[0]
        # Only before the server starts does this take effect; later runners share the server.
        # The guard first: the server dies with this process, even while it imports the rest.
        self._context.set_forkserver_preload([GUARD_MODULE, module])
        # OpenMP reads its wait policy once, when the server loads it: a task's own variable
        # comes too late. Long spinning lets concurrent tasks starve each other (measured: an
        # 11k-row training took 30.5 s instead of 3.0 s on two busy cores), never spinning
        # makes a lone training 2.9x slower, so the server spins briefly, then sleeps.
        if spin_count is not None:
            os.environ.setdefault("GOMP_SPINCOUNT", spin_count)
        # NumPy's OpenBLAS starts its threads when the server imports it, as many as the cores
        # unless told otherwise, and every forked task inherits that pool: two prediction
        # tasks side by side then ran 20% slower each (a 1M-row prediction stage 2.6 s instead
        # of 2.1 s; measured). The tasks' own limits are set in `_child` (threadpoolctl).
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

    def prepare(self) -> None:
        """Start the server now: it imports the task code (1.5 s, mostly scikit-learn) while the
        run's first stages work, instead of when the first task is due."""
        _ensure_server()

    def release(self) -> None:
        """Stop the fork server; the next task starts a new one. The standard library has no
        public call for this: `_stop` is what its own tests use, so it is looked up
        defensively and, if a later Python drops it, the server simply stays up.

        `_stop` waits for the server to exit, 0.3 s with scikit-learn loaded: the wait runs on
        its own thread so the next stage starts at once; the next task waits for it
        (`_await_pending_stop`). Releasing while a stop is pending does nothing.
        """
        global _pending_stop
        stop = getattr(getattr(multiprocessing.forkserver, "_forkserver", None), "_stop", None)
        if not callable(stop):
            return
        with _stop_lock:
            if _pending_stop is not None and _pending_stop.is_alive():
                return
            _pending_stop = threading.Thread(target=stop, name="forkserver-stop", daemon=True)
            _pending_stop.start()

    def run(self, task: TaskSpec, timeout_seconds: float) -> TaskOutcome:
        started = time.perf_counter()
        _ensure_server()
        env = {**self.env, **self.role_env.get(task.role, {}), **task.env}
        with tempfile.NamedTemporaryFile(prefix="batchml-task-", suffix=".log") as output:
            process = self._context.Process(
                target=_child, args=(self.entry, [*self.args, *task.arguments()], env, output.name), daemon=True
            )
            with _reap_lock:
                process.start()
            ended = multiprocessing.connection.wait([process.sentinel], timeout_seconds)
            if not ended:
                process.kill()
                multiprocessing.connection.wait([process.sentinel])
            with _reap_lock:
                process.join()
            if not ended:
                seconds = time.perf_counter() - started
                return TaskOutcome(task.task_id, False, None, f"timed out after {timeout_seconds:g}s", seconds)
            text = open(output.name, encoding="utf-8", errors="replace").read()[-65536:]  # noqa: SIM115
        seconds = time.perf_counter() - started
        code = process.exitcode
        if code == 0:
            return TaskOutcome(task.task_id, True, 0, "", seconds)
        if code == START_FAILED_EXIT_CODE and START_FAILED_MARK in text:
            line = next(line for line in text.splitlines() if line.startswith(START_FAILED_MARK))
            return TaskOutcome(task.task_id, False, None, line, seconds)
        if code is not None and code < 0:
            return TaskOutcome(task.task_id, False, code, f"killed by signal {-code}", seconds)
        return TaskOutcome(task.task_id, False, code, failure_reason(text, code), seconds)
