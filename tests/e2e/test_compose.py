"""`docker compose up` runs the whole pipeline offline: scripts/compose_check.sh, as CI runs it,
on a small demo in a throwaway folder (the developer's ./demo-output is left alone)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.docker_support import require_docker

pytestmark = [pytest.mark.e2e, pytest.mark.docker]

ROOT = Path(__file__).resolve().parents[2]


def test_compose_check_runs_the_demo_and_verifies_the_published_table(tmp_path: Path) -> None:
    require_docker(compose=True)
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
