"""Whether the Docker tests can run: skip without an engine, unless CI requires one."""

from __future__ import annotations

import os
import shutil
import subprocess

import docker
import pytest
from docker.errors import DockerException


def docker_problem(*, compose: bool = False) -> str | None:
    """Why the Docker tests cannot run here, or None if they can."""
    try:
        client = docker.from_env()
        client.ping()
        client.close()
    except DockerException as exc:
        return f"no Docker engine answers ({exc})"
    if compose and shutil.which("docker-compose") is None:
        v2 = subprocess.run(["docker", "compose", "version"], capture_output=True) if shutil.which("docker") else None
        if v2 is None or v2.returncode != 0:
            return "neither docker-compose nor 'docker compose' is installed"
    return None


def require_docker(*, compose: bool = False) -> None:
    """Skip when Docker (and Compose) is missing, unless BATCHML_REQUIRE_DOCKER=1 (CI): then fail."""
    problem = docker_problem(compose=compose)
    if problem is None:
        return
    if os.environ.get("BATCHML_REQUIRE_DOCKER") == "1":
        pytest.fail(f"{problem}, and BATCHML_REQUIRE_DOCKER=1: install and start Docker before the tests")
    pytest.skip(problem)
