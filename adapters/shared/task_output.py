"""Reading a finished task's output: the reason a user sees when it failed.

Shared by every runner that gets a task's output back (processes, Docker containers).
"""

from __future__ import annotations

import json

from domain.ports.task_runner import TASK_ERROR_MARK


def failure_reason(output: str, exit_code: int | None) -> str:
    """The task's own last error line if it printed one, else the last lines of its output."""
    lines = [line for line in output.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith(TASK_ERROR_MARK):
            try:
                return str(json.loads(line[len(TASK_ERROR_MARK) :])["error"])
            except (ValueError, KeyError, TypeError):
                return line[len(TASK_ERROR_MARK) :].strip()
    tail = " | ".join(lines[-3:]) if lines else "no output"
    return f"exit code {exit_code}: {tail}"
