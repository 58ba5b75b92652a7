"""scripts/setup.sh: installs once, and `make demo` after `make test` installs nothing again."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.e2e.conftest import REPO


def setup_copy(tmp_path: Path) -> Path:
    """The script, pyproject.toml and constraints.txt in a folder of their own, with a .venv
    whose python only records what it was asked to do (no real install)."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copy(REPO / "constraints.txt", tmp_path / "constraints.txt")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/pip-calls\n')
    python.chmod(0o755)
    return tmp_path


def setup(folder: Path, extras: str) -> str:
    result = subprocess.run(
        ["bash", str(folder / "scripts" / "setup.sh")],
        env={**os.environ, "BATCHML_EXTRAS": extras},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_demo_after_test_installs_nothing_and_says_nothing(tmp_path: Path) -> None:
    # Before: the stamp said "dev", the demo asked for "core", and setup installed again saying
    # "(first time: a few minutes)".
    folder = setup_copy(tmp_path)
    assert "first time" in setup(folder, "dev")
    calls = (folder / "pip-calls").read_text()
    assert setup(folder, "core") == "" and setup(folder, "dev") == ""
    assert (folder / "pip-calls").read_text() == calls


def test_a_changed_pyproject_updates_without_calling_it_the_first_time(tmp_path: Path) -> None:
    folder = setup_copy(tmp_path)
    setup(folder, "core")
    with (folder / "pyproject.toml").open("a") as pyproject:
        pyproject.write("\n# changed\n")
    assert "updating .venv" in setup(folder, "core")
    assert "updating .venv" in setup(folder, "dev")  # core -> dev needs the dev tools


def test_a_changed_constraints_file_updates_and_installs_with_it(tmp_path: Path) -> None:
    folder = setup_copy(tmp_path)
    setup(folder, "dev")
    assert "-c constraints.txt" in (folder / "pip-calls").read_text()  # the tested versions
    with (folder / "constraints.txt").open("a") as constraints:
        constraints.write("\n# changed\n")
    assert "updating .venv" in setup(folder, "dev")
