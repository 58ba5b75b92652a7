"""`docker compose up` runs the whole pipeline offline: scripts/compose_check.sh, as CI runs it,
on a small demo in a throwaway folder (the developer's ./demo-output is left alone)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import docker
import pytest
from docker.errors import DockerException

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

ROOT = Path(__file__).resolve().parents[2]


def require_docker_and_compose() -> None:
    """Skip when no Docker engine or Compose is there, unless BATCHML_REQUIRE_DOCKER=1 (CI): fail."""
    problem = None
    try:
        client = docker.from_env()
        client.ping()
        client.close()
    except DockerException as exc:
        problem = f"no Docker engine answers ({exc})"
    if problem is None and shutil.which("docker-compose") is None:
        v2 = subprocess.run(["docker", "compose", "version"], capture_output=True) if shutil.which("docker") else None
        if v2 is None or v2.returncode != 0:
            problem = "neither docker-compose nor 'docker compose' is installed"
    if problem is None:
        return
    if os.environ.get("BATCHML_REQUIRE_DOCKER") == "1":
        pytest.fail(f"{problem}, and BATCHML_REQUIRE_DOCKER=1: install and start Docker before the tests")
    pytest.skip(problem)


def test_compose_check_runs_the_demo_and_verifies_the_published_table(tmp_path: Path) -> None:
    require_docker_and_compose()
    env = {**os.environ, "DEMO_ROWS": "3000", "BATCHML_DEMO_DIR": str(tmp_path / "demo-output")}
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "compose_check.sh")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, (
        f"compose_check.sh exited {result.returncode}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    )
    assert "compose_check: OK" in result.stdout
    assert (tmp_path / "demo-output" / "lake" / "catalog.duckdb").is_file()
