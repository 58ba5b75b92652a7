"""The TaskRunner contract, held by every local runner: OS processes and Docker containers.

Each runner runs the same tiny fake task (a Python script that behaves as its `--run-id` says)
instead of `batchml-task`, so the contract is about running, timing out and reporting, not about
the pipeline. The Docker runner runs it with the project image's own Python.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import docker
import pytest

from adapters.local.docker_runner import DockerTaskRunner
from adapters.local.forkserver_runner import ForkServerTaskRunner
from adapters.local.subprocess_runner import SubprocessTaskRunner
from domain.ports.task_runner import PERMANENT_EXIT_CODE, TaskOutcome, TaskRunner, TaskSpec
from tests.docker_support import require_docker

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("BATCHML_IMAGE", "batchml:latest")
TIMEOUT = 60.0  # for tasks that end by themselves: generous, a slow CI machine is not a failure

# argv: -c ROLE --run-id RUN [--batch N]; the run id's first word says what to do.
FAKE_TASK = f"""
import json, os, sys, time
role, run_id, rest = sys.argv[1], sys.argv[3], sys.argv[4:]
behaviour = run_id.split("-")[0]
print("fake task", role, run_id, *rest, flush=True)
if behaviour == "fails":
    error = {{"error": "3 rows have no id", "type": "DataQualityError"}}
    print("BATCHML_TASK_ERROR " + json.dumps(error), file=sys.stderr)
    sys.exit(1)
if behaviour == "permanent":
    print('BATCHML_TASK_ERROR {{"error": "bad spec", "type": "SpecError"}}', file=sys.stderr)
    sys.exit({PERMANENT_EXIT_CODE})
if behaviour == "hangs":
    time.sleep(3600)
if behaviour == "writes":
    out = os.environ["FAKE_TASK_OUTPUT"]
    names = ["FROM_RUNNER", "FROM_ROLE", "FROM_TASK", "LAYERED"]
    with open(out, "w") as f:
        f.write(" ".join([role, *rest, *(os.environ.get(name, "-") for name in names)]))
sys.exit(0)
"""

RunnerFactory = Callable[[Sequence[str]], TaskRunner]


@pytest.fixture(scope="session")
def project_image() -> str:
    """The project image, built once per session (seconds when the layers are cached)."""
    require_docker()
    build = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build_image.sh")],
        env={**os.environ, "BATCHML_IMAGE": IMAGE},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if build.returncode != 0:
        pytest.fail(
            f"scripts/build_image.sh failed ({build.returncode}):\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}"
        )
    return IMAGE


@pytest.fixture(params=["subprocess", "forkserver", pytest.param("docker", marks=pytest.mark.docker)])
def make_runner(request: pytest.FixtureRequest, tmp_path: Path) -> RunnerFactory:
    """Builds a runner of the parametrised kind for a command prefix; `{python}` in the prefix is
    the interpreter that kind runs (this venv's, or the image's)."""
    env = {"FROM_RUNNER": "runner-env", "LAYERED": "runner"}
    role_env = {"predict": {"FROM_ROLE": "predict-env", "LAYERED": "role"}, "train": {"LAYERED": "train"}}
    if request.param == "subprocess":
        python = sys.executable
        return lambda prefix: SubprocessTaskRunner([python if a == "{python}" else a for a in prefix], env, role_env)
    if request.param == "forkserver":
        # The fake task as a function; a prefix that is not the fake script names a missing entry.
        return lambda prefix: ForkServerTaskRunner(
            "tests.integration.fake_task:main" if prefix[0] == "{python}" else prefix[0], (), env, role_env
        )
    image: str = request.getfixturevalue("project_image")
    return lambda prefix: DockerTaskRunner(
        ["python" if a == "{python}" else a for a in prefix], env, role_env, mounts=[str(tmp_path)], image=image
    )


def fake(make_runner: RunnerFactory) -> TaskRunner:
    return make_runner(["{python}", "-c", FAKE_TASK])


def task(behaviour: str, batch: int | None = 7, **env: str) -> TaskSpec:
    role: Literal["train", "predict"] = "predict" if batch is not None else "train"
    return TaskSpec(role=role, run_id=f"{behaviour}-{uuid.uuid4().hex[:8]}", batch=batch, env=env)


def test_a_task_that_succeeds(make_runner: RunnerFactory) -> None:
    spec = task("ok")
    outcome = fake(make_runner).run(spec, TIMEOUT)
    assert (outcome.task_id, outcome.succeeded, outcome.exit_code, outcome.reason) == ("predict-00007", True, 0, "")
    assert not outcome.permanent
    assert outcome.seconds > 0


def test_a_released_runner_still_runs_the_next_task(make_runner: RunnerFactory) -> None:
    runner = fake(make_runner)
    assert runner.run(task("ok"), TIMEOUT).succeeded
    runner.release()  # the fork server stops here; the others keep nothing
    runner.release()  # and releasing twice is harmless
    assert runner.run(task("ok"), TIMEOUT).succeeded


def test_tasks_started_right_after_releases_never_meet_a_stopping_server() -> None:
    """A release stops the server on a thread: a task started at once, or a second release,
    must not race that stop (CI once saw exit code 255 from a task that reached a dying server;
    before the fix this loop failed or crashed in the standard library every time)."""
    runner = ForkServerTaskRunner("tests.integration.fake_task:main")
    for _ in range(30):
        outcome = runner.run(task("ok"), TIMEOUT)
        assert outcome.succeeded, outcome.reason
        runner.release()
        runner.release()


def test_tasks_on_two_threads_each_get_their_own_exit_code() -> None:
    """Two batch threads: a task started on one polls the other's running task in the standard
    library, and a poll racing that task's own join read its exit code as 255 (CPython
    gh-130895). Before the fix 5 of 400 such tasks failed with 255 in a script, as 1 batch in
    26 of a 10M-row run did (hidden by its retry), and this test failed in 6 runs of 6."""
    runner = ForkServerTaskRunner("tests.integration.fake_task:main")
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda i: runner.run(task("ok", batch=i), TIMEOUT), range(600)))
    failed = [(o.task_id, o.exit_code, o.reason) for o in outcomes if not o.succeeded]
    assert failed == []


def test_the_fork_server_outlives_the_thread_whose_task_started_it() -> None:
    """The server dies with the thread that started it (Linux's parent-death signal follows a
    thread): one started by a batch thread that then ended was killed, under the tasks of the
    other batch threads. It is started from a thread that lives as long as the process."""
    import multiprocessing.forkserver

    runner = ForkServerTaskRunner("tests.integration.fake_task:main")
    runner.release()  # the next task starts a fresh server
    outcomes: list[TaskOutcome] = []
    starter = threading.Thread(target=lambda: outcomes.append(runner.run(task("ok"), TIMEOUT)))
    starter.start()
    starter.join()
    assert outcomes[0].succeeded
    server: Any = vars(multiprocessing.forkserver)["_forkserver"]  # private: the stdlib's own tests use it
    time.sleep(0.3)  # time enough for the kernel's signal, were it armed against that thread
    state = Path(f"/proc/{server._forkserver_pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    assert state != "Z", "the fork server died with the thread that started it"
    assert runner.run(task("ok"), TIMEOUT).succeeded


def test_a_forked_copy_of_the_orchestrator_does_not_hang_on_its_first_task() -> None:
    """The starter thread is not in a forked copy of the process: work given to the executor
    it inherits would wait forever. Forked, the copy starts its own (the standard library then
    refuses the server it does not own, as before: an error, not a hang)."""
    runner = ForkServerTaskRunner("tests.integration.fake_task:main")
    assert runner.run(task("ok"), TIMEOUT).succeeded  # the starter thread exists now
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit code
        try:
            runner.run(task("ok"), TIMEOUT)
        finally:
            os._exit(0)
    for _ in range(200):
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked copy hung on its first task")


def test_release_stops_the_fork_server() -> None:
    import multiprocessing.forkserver

    runner = ForkServerTaskRunner("tests.integration.fake_task:main")
    assert runner.run(task("ok"), TIMEOUT).succeeded
    server: Any = vars(multiprocessing.forkserver)["_forkserver"]  # private: the stdlib's own tests use it
    pid = server._forkserver_pid
    assert pid is not None
    runner.release()  # returns at once; the server is stopped on a thread
    for _ in range(100):
        if server._forkserver_pid is None:
            break
        time.sleep(0.05)
    assert server._forkserver_pid is None
    with pytest.raises(ProcessLookupError):
        for _ in range(100):  # the server exits once its socket closes
            os.kill(pid, 0)
            time.sleep(0.05)


def test_forked_tasks_inherit_a_one_thread_openblas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's OpenBLAS pool is what a task starts with; at the cores' count, two tasks
    side by side each ran 20% slower (adapters/local/forkserver_runner.py)."""
    # As a user's shell has it: neither variable set (tests/conftest.py sets OMP_NUM_THREADS).
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    out = tmp_path / "blas.txt"
    runner = ForkServerTaskRunner("tests.integration.fake_task:main", env={"FAKE_TASK_OUTPUT": str(out)})
    runner.release()  # a fresh server, started by the run below with this environment
    try:
        assert runner.run(task("blas"), TIMEOUT).succeeded
        assert out.read_text().split() == ["1"]
    finally:
        runner.release()  # later tests get a server started with their own environment


def test_a_failing_task_reports_its_own_error_line(make_runner: RunnerFactory) -> None:
    outcome = fake(make_runner).run(task("fails"), TIMEOUT)
    assert not outcome.succeeded
    assert outcome.exit_code == 1
    assert outcome.reason == "3 rows have no id"
    assert not outcome.permanent


def test_a_permanent_failure_is_reported_as_permanent(make_runner: RunnerFactory) -> None:
    outcome = fake(make_runner).run(task("permanent", batch=None), TIMEOUT)
    assert (outcome.task_id, outcome.succeeded, outcome.exit_code) == ("train", False, PERMANENT_EXIT_CODE)
    assert outcome.permanent
    assert outcome.reason == "bad spec"


def test_a_hanging_task_is_killed_at_its_timeout(make_runner: RunnerFactory) -> None:
    runner = fake(make_runner)
    started = time.monotonic()
    outcome = runner.run(task("hangs"), timeout_seconds=2)
    elapsed = time.monotonic() - started
    assert not outcome.succeeded
    assert outcome.exit_code is None
    assert "timed out after 2s" in outcome.reason
    assert 2 <= elapsed < 20, f"took {elapsed:.1f}s to give up on a 2 s timeout"


def test_a_command_that_cannot_start(make_runner: RunnerFactory) -> None:
    outcome = make_runner(["/nonexistent/batchml-task"]).run(task("ok"), TIMEOUT)
    assert not outcome.succeeded
    assert outcome.exit_code is None
    assert "could not start" in outcome.reason
    assert "/nonexistent/batchml-task" in outcome.reason


def test_the_task_sees_its_arguments_environment_and_host_paths(make_runner: RunnerFactory, tmp_path: Path) -> None:
    """Environment: the runner's, then its role's, then the task's own (later ones win). Paths in
    a spec are host paths: what a task writes there appears at the same path on the host, owned
    by the user who ran the pipeline (so they can read and delete it)."""
    output = tmp_path / "written-by-task.txt"
    spec = task("writes", batch=42, FAKE_TASK_OUTPUT=str(output), FROM_TASK="task-env", LAYERED="task")
    outcome = fake(make_runner).run(spec, TIMEOUT)
    assert outcome.succeeded, outcome.reason
    assert output.read_text() == "predict --batch 42 runner-env predict-env task-env task"
    assert (output.stat().st_uid, output.stat().st_gid) == (os.getuid(), os.getgid())
    trained = fake(make_runner).run(task("writes", batch=None, FAKE_TASK_OUTPUT=str(output)), TIMEOUT)
    assert trained.succeeded, trained.reason
    assert output.read_text() == "train runner-env - - train"


# ---- Docker only: what can go wrong around the container -------------------------------------------


@pytest.fixture
def engine() -> Iterator[docker.DockerClient]:
    require_docker()
    client = docker.from_env()
    yield client
    client.close()


@pytest.mark.docker
def test_docker_runner_leaves_no_container_behind(project_image: str, engine: docker.DockerClient) -> None:
    runner = DockerTaskRunner(["python", "-c", FAKE_TASK], image=project_image)
    specs = [task("ok"), task("fails"), task("hangs")]
    for spec in specs:
        runner.run(spec, timeout_seconds=2)
    for spec in specs:
        left = engine.containers.list(all=True, filters={"label": f"batchml.run_id={spec.run_id}"})
        assert left == [], f"{spec.run_id} left {[c.name for c in left]}"


@pytest.mark.docker
def test_docker_runner_reports_a_missing_image(engine: docker.DockerClient) -> None:
    outcome = DockerTaskRunner(["batchml-task"], image="batchml-missing:never-built").run(task("ok"), TIMEOUT)
    assert not outcome.succeeded
    assert outcome.exit_code is None
    assert outcome.reason == "image batchml-missing:never-built not found: build it with scripts/build_image.sh"


def test_docker_runner_reports_an_engine_that_does_not_answer(tmp_path: Path) -> None:
    """Needs no engine at all: the runner is pointed at a socket nobody listens on."""
    socket = f"unix://{tmp_path}/no-docker.sock"
    runner = DockerTaskRunner(["batchml-task"], client_factory=lambda: docker.DockerClient(base_url=socket))
    outcome = runner.run(task("ok"), TIMEOUT)
    assert not outcome.succeeded
    assert outcome.exit_code is None
    assert outcome.reason.startswith("Docker engine not reachable")
    assert "--task-runner subprocess" in outcome.reason
