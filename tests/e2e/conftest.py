from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parents[2]


def batchml(*args: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The real console entry point, in a child process, as a user would run it."""
    env = {**os.environ, "COLUMNS": "160"}
    result = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", *args],
        cwd=cwd or REPO,
        env=env,
        text=True,
        capture_output=True,
        timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"batchml {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def only_run_state(lake: Path) -> dict[str, Any]:
    states = sorted(lake.glob("runs/*/run.json"))
    assert len(states) >= 1
    state: dict[str, Any] = json.loads(states[-1].read_text())
    return state


def published(lake: Path, table: str) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(lake / "catalog.duckdb"), read_only=True)
