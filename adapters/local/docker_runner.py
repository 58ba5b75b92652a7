"""Docker containers as the TaskRunner: each task runs in the project image, as on Fargate,
but on this machine's Docker engine and against this machine's files."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import docker
import requests
from docker.errors import DockerException, ImageNotFound
from docker.models.containers import Container
from docker.types import Mount

from adapters.local.parent_death import START_FAILED_EXIT_CODE, START_FAILED_MARK
from adapters.shared.task_output import failure_reason
from domain.ports.task_runner import TaskOutcome, TaskRunner, TaskSpec

DEFAULT_IMAGE = "batchml:latest"
# Enough to hold a task's last error line and the lines before it; a task's full log can be large.
LOG_TAIL_LINES = 200
LOG_TAIL_BYTES = 65536
# What a call to the engine can raise: the SDK's own errors, and the HTTP client's when the
# engine stops answering mid-call (those are not DockerException).
ENGINE_ERRORS = (DockerException, requests.exceptions.RequestException)
_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]+")
# The image's Python runs the task under the watch of adapters/local/parent_death.py.
WATCH_COMMAND = ["python", "-m", "adapters.local.parent_death", "--fifo"]


def _outermost(paths: Sequence[str]) -> list[str]:
    """Absolute, de-duplicated paths with any path inside another one dropped: the engine rejects
    two mounts at one target, and mounting a parent already shows its children."""
    resolved = sorted({str(Path(p).resolve()) for p in paths})
    kept: list[str] = []
    for path in resolved:
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept


class DockerTaskRunner(TaskRunner):
    """Runs `command + task.arguments()` in a fresh container of `image`, with the environment
    `env`, then `role_env[task.role]`, then `task.env` (later ones win), as SubprocessTaskRunner.

    Paths in a spec are host paths, so every directory in `mounts` is bind-mounted at the same
    absolute path inside the container: the spec, its SQL files, the source data and the output
    root then resolve identically in the task and in the orchestrator. The task runs as the
    invoking user's uid:gid, so what it writes to those folders belongs to that user, and with no
    network (`network_mode="none"`), since a local task only reads and writes files.

    The engine is contacted on each `run`, never at construction, so building the runner (for
    example in a process that never starts a task) does not need Docker.
    """

    def __init__(
        self,
        command: Sequence[str],
        env: Mapping[str, str] | None = None,
        role_env: Mapping[str, Mapping[str, str]] | None = None,
        *,
        mounts: Sequence[str] = (),
        image: str = DEFAULT_IMAGE,
        user: str | None = None,
        network_mode: str = "none",
        client_factory: Callable[[], docker.DockerClient] = docker.from_env,
    ) -> None:
        self.command = list(command)
        self.env = dict(env or {})
        self.role_env = {role: dict(values) for role, values in (role_env or {}).items()}
        self.mounts = _outermost(mounts)
        self.image = image
        self.user = user if user is not None else f"{os.getuid()}:{os.getgid()}"
        self.network_mode = network_mode
        self.client_factory = client_factory
        self._alive: tuple[str, int] | None = None  # the FIFO tasks watch, and this process's end of it
        self._alive_lock = threading.Lock()

    def run(self, task: TaskSpec, timeout_seconds: float) -> TaskOutcome:
        started = time.perf_counter()

        def outcome(succeeded: bool, code: int | None, reason: str) -> TaskOutcome:
            return TaskOutcome(task.task_id, succeeded, code, reason, time.perf_counter() - started)

        try:
            # One client per task: the orchestrator runs tasks on several threads, and a client's
            # HTTP session is not meant to be shared between them.
            client = self.client_factory()
        except ENGINE_ERRORS as exc:
            hint = "start Docker, or run the tasks with --task-runner subprocess"
            return outcome(False, None, f"Docker engine not reachable: {_explain(exc)}; {hint}")
        try:
            return self._run(client, task, timeout_seconds, outcome)
        finally:
            client.close()

    def _run(
        self,
        client: docker.DockerClient,
        task: TaskSpec,
        timeout_seconds: float,
        outcome: Callable[[bool, int | None, str], TaskOutcome],
    ) -> TaskOutcome:
        try:
            alive = self._alive_fifo()
            container = client.containers.create(
                self.image,
                # Through the watch on the FIFO: the task ends when this process does, however.
                [*WATCH_COMMAND, alive, "--", *self.command, *task.arguments()],
                name=self._name(task),
                labels={"batchml.run_id": task.run_id, "batchml.task_id": task.task_id},
                # Only what is given: unlike a child process, a container inherits nothing from the
                # host's environment, and must not (host paths, credentials).
                environment={**self.env, **self.role_env.get(task.role, {}), **task.env},
                mounts=[
                    Mount(target=path, source=path, type="bind") for path in [*self.mounts, os.path.dirname(alive)]
                ],
                user=self.user,
                network_mode=self.network_mode,
            )
        except ImageNotFound:
            return outcome(False, None, f"image {self.image} not found: build it with scripts/build_image.sh")
        except ENGINE_ERRORS as exc:
            return outcome(False, None, f"could not create a container of {self.image}: {_explain(exc)}")
        try:
            try:
                container.start()
            except ENGINE_ERRORS as exc:
                return outcome(False, None, f"could not start: {_explain(exc)}")
            deadline = time.monotonic() + timeout_seconds
            try:
                status = container.wait(timeout=timeout_seconds)
            except requests.exceptions.RequestException as exc:
                # Over the engine's unix socket a read timeout can surface as a ConnectionError:
                # the clock, not the exception's class, tells a timeout from a lost engine.
                if time.monotonic() < deadline:
                    return outcome(False, None, f"lost contact with the Docker engine: {exc}")
                _kill(container)
                return outcome(False, None, f"timed out after {timeout_seconds:g}s")
            code = int(status.get("StatusCode", -1))
            if code == 0:
                return outcome(True, 0, "")
            reason = self._reason(container, code)
            if code == START_FAILED_EXIT_CODE and START_FAILED_MARK in reason:
                # The command itself is missing from the image.
                return outcome(False, None, reason[reason.index(START_FAILED_MARK) :])
            return outcome(False, code, reason)
        except ENGINE_ERRORS as exc:
            return outcome(False, None, f"Docker engine error: {_explain(exc)}")
        finally:
            # Always, even on KeyboardInterrupt: a task container outlives nothing that started it.
            _remove(container)

    def _alive_fifo(self) -> str:
        """A FIFO whose only writer is this process (the fd is held open, never written): a
        container watching it sees end-of-file when this process ends, even by kill -9."""
        with self._alive_lock:
            if self._alive is None:
                folder = tempfile.mkdtemp(prefix="batchml-alive-")
                path = os.path.join(folder, "orchestrator")
                os.mkfifo(path, 0o600)
                self._alive = (path, os.open(path, os.O_RDWR))
            return self._alive[0]

    def release(self) -> None:
        """No task is left: close the FIFO (its watchers would see this process end)."""
        with self._alive_lock:
            if self._alive is not None:
                path, fd = self._alive
                os.close(fd)
                shutil.rmtree(os.path.dirname(path), ignore_errors=True)
                self._alive = None

    def _name(self, task: TaskSpec) -> str:
        # Readable in `docker ps`, unique across retries and across runs that share a run id.
        raw = f"batchml-{task.run_id}-{task.task_id}-a{task.attempt}-{secrets.token_hex(3)}"
        return _NAME_UNSAFE.sub("-", raw)

    def _reason(self, container: Container, code: int) -> str:
        container.reload()
        if container.attrs.get("State", {}).get("OOMKilled"):
            return f"killed by the kernel: out of memory (exit code {code})"
        logs: bytes = container.logs(stdout=True, stderr=True, tail=LOG_TAIL_LINES)
        return failure_reason(logs[-LOG_TAIL_BYTES:].decode("utf-8", errors="replace"), code)


def _explain(exc: Exception) -> str:
    """The engine's own words (`explanation`) when it gave any, without the HTTP preamble."""
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc)


def _kill(container: Container) -> None:
    # An error here means it ended on its own between the timeout and the kill; either way the
    # forced removal that follows stops it for good.
    with contextlib.suppress(*ENGINE_ERRORS):
        container.kill()


def _remove(container: Container) -> None:
    # Best effort, and silent: a runner never raises, and a container it could not remove (engine
    # gone) carries the batchml.* labels to find it by.
    with contextlib.suppress(*ENGINE_ERRORS):
        container.remove(force=True)
