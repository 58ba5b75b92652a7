"""OS processes as the TaskRunner: the local stand-in for a Fargate task."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence

from adapters.local.parent_death import START_FAILED_EXIT_CODE, START_FAILED_MARK
from adapters.shared.task_output import failure_reason
from domain.ports.task_runner import TaskOutcome, TaskRunner, TaskSpec


class SubprocessTaskRunner(TaskRunner):
    """Runs `command + task.arguments()` as a child process in its own process group, so a
    timeout kills the task and anything it started, and with the parent-death signal, so the
    task dies with the orchestrator (adapters/local/parent_death.py)."""

    def __init__(
        self,
        command: Sequence[str],
        env: Mapping[str, str] | None = None,
        role_env: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.command = list(command)
        self.env = dict(env or {})
        self.role_env = {role: dict(values) for role, values in (role_env or {}).items()}

    def run(self, task: TaskSpec, timeout_seconds: float) -> TaskOutcome:
        started = time.perf_counter()
        env = {**os.environ, **self.env, **self.role_env.get(task.role, {}), **task.env}
        with tempfile.TemporaryFile(mode="w+b") as output:
            try:
                # Through the parent-death launcher: the task dies with this process, even by kill -9.
                launcher = [sys.executable, "-m", "adapters.local.parent_death", str(os.getpid()), "--"]
                process = subprocess.Popen(
                    [*launcher, *self.command, *task.arguments()],
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                )
            except OSError as exc:
                return TaskOutcome(task.task_id, False, None, f"could not start: {exc}", 0.0)
            try:
                code = process.wait(timeout=timeout_seconds)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                seconds = time.perf_counter() - started
                return TaskOutcome(task.task_id, False, None, f"timed out after {timeout_seconds:g}s", seconds)
            output.seek(0)
            text = output.read()[-65536:].decode("utf-8", errors="replace")
        seconds = time.perf_counter() - started
        if code == 0:
            return TaskOutcome(task.task_id, True, 0, "", seconds)
        if code == START_FAILED_EXIT_CODE and START_FAILED_MARK in text:
            line = next(line for line in text.splitlines() if line.startswith(START_FAILED_MARK))
            return TaskOutcome(task.task_id, False, None, line, seconds)
        if code < 0:
            return TaskOutcome(task.task_id, False, code, f"killed by signal {-code}", seconds)
        return TaskOutcome(task.task_id, False, code, failure_reason(text, code), seconds)
