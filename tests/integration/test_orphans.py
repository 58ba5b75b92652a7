"""`kill -9` of the orchestrator alone: its fork server and its task processes die with it
(issue 14, finding 6: 7 kills out of 10 left the fork server, twice a training task, running)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import docker
import psutil
import pytest

from tests.integration.test_task_runner_contract import project_image

pytestmark = pytest.mark.integration

__all__ = ["project_image"]  # the session fixture that builds the image

ROOT = Path(__file__).resolve().parents[2]

# A stand-in orchestrator: starts one task that never ends, says so, then waits to be killed.
ORCHESTRATOR = {
    "forkserver": """
        from adapters.local.forkserver_runner import ForkServerTaskRunner
        runner = ForkServerTaskRunner("tests.integration.fake_task:main")
        runner.prepare()
    """,
    "subprocess": """
        import sys
        from adapters.local.subprocess_runner import SubprocessTaskRunner
        runner = SubprocessTaskRunner([sys.executable, "-m", "tests.integration.fake_task_script"])
    """,
}
START_TASK = """
    import threading
    from domain.ports.task_runner import TaskSpec
    threading.Thread(target=runner.run, args=(TaskSpec("predict", "hangs-1", batch=0), 3600.0), daemon=True).start()
    threading.Event().wait()
"""


def descendants_running_the_task(pid: int, deadline: float) -> list[psutil.Process]:
    """Every process under `pid`, once the fake task has printed that it runs."""
    parent = psutil.Process(pid)
    while time.time() < deadline:
        found: list[psutil.Process] = parent.children(recursive=True)
        if any("hangs-1" in " ".join(_cmdline(p)) or _is_forked_task(p) for p in found):
            return found
        time.sleep(0.05)
    raise AssertionError(f"the task did not start under {pid}")


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return [str(part) for part in process.cmdline()]
    except psutil.Error:
        return []


def _is_forked_task(process: psutil.Process) -> bool:
    """A task forked from the fork server shares the server's command line: it is the server's child."""
    try:
        return any("forkserver import main" in " ".join(_cmdline(parent)) for parent in process.parents())
    except psutil.Error:
        return False


@pytest.mark.parametrize("runner", ["forkserver", "subprocess"])
def test_the_fork_server_and_its_tasks_die_with_the_orchestrator(runner: str) -> None:
    code = textwrap.dedent(ORCHESTRATOR[runner]) + textwrap.dedent(START_TASK)
    orchestrator = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, start_new_session=True)
    children: list[psutil.Process] = []
    try:
        children = descendants_running_the_task(orchestrator.pid, time.time() + 60)
        os.kill(orchestrator.pid, signal.SIGKILL)  # the orchestrator alone, not its process group
        orchestrator.wait()
        _gone, alive = psutil.wait_procs(children, timeout=10)
        assert alive == [], f"left running after the orchestrator died: {[(p.pid, _cmdline(p)) for p in alive]}"
    finally:
        for process in [psutil.Process(orchestrator.pid), *children] if orchestrator.poll() is None else children:
            with contextlib.suppress(psutil.Error):
                process.kill()
        orchestrator.wait()


@pytest.mark.docker
def test_a_task_container_stops_when_its_orchestrator_dies(project_image: str) -> None:
    """A container is the engine's child, not the orchestrator's: it watches a FIFO whose only
    writer is the orchestrator instead."""
    run_id = f"hangs-{uuid.uuid4().hex[:8]}"
    code = textwrap.dedent(f"""
        import threading
        from adapters.local.docker_runner import DockerTaskRunner
        from domain.ports.task_runner import TaskSpec
        runner = DockerTaskRunner(["python", "-c", "import time; time.sleep(3600)"], image={project_image!r})
        task = TaskSpec("predict", {run_id!r}, batch=0)
        threading.Thread(target=runner.run, args=(task, 3600.0), daemon=True).start()
        threading.Event().wait()
    """)
    client = docker.from_env()
    orchestrator = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, start_new_session=True)
    try:
        deadline = time.time() + 120
        while not client.containers.list(filters={"label": f"batchml.run_id={run_id}", "status": "running"}):
            assert time.time() < deadline and orchestrator.poll() is None, "the task container never ran"
            time.sleep(0.2)
        os.kill(orchestrator.pid, signal.SIGKILL)
        orchestrator.wait()
        deadline = time.time() + 20
        while client.containers.list(filters={"label": f"batchml.run_id={run_id}", "status": "running"}):
            assert time.time() < deadline, "the task container kept running after its orchestrator died"
            time.sleep(0.2)
    finally:
        if orchestrator.poll() is None:
            orchestrator.kill()
        for container in client.containers.list(all=True, filters={"label": f"batchml.run_id={run_id}"}):
            container.remove(force=True)
        client.close()
