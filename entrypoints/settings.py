"""Runtime settings: the one place that reads the environment.

Precedence: command-line flag, then environment variable, then the spec, then default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    backend: str | None  # None: use the spec's [pipeline] backend
    task_runner: str  # "subprocess" (OS processes) or "docker" (containers of the project image)
    duckdb_threads: int | None
    duckdb_memory_limit: str | None
    docker_image: str

    @classmethod
    def from_environment(cls, backend: str | None = None, task_runner: str | None = None) -> Settings:
        env = os.environ
        threads = env.get("BATCHML_DUCKDB_THREADS")
        return cls(
            backend=backend or env.get("BATCHML_BACKEND") or None,
            task_runner=task_runner or env.get("BATCHML_TASK_RUNNER", "subprocess"),
            duckdb_threads=int(threads) if threads else None,
            duckdb_memory_limit=env.get("BATCHML_DUCKDB_MEMORY_LIMIT") or None,
            docker_image=env.get("BATCHML_IMAGE", "batchml:latest"),
        )

    def task_environment(self) -> dict[str, str]:
        """What a task process must see to build the same adapters as its orchestrator."""
        env = {"BATCHML_TASK_RUNNER": self.task_runner}
        if self.backend:
            env["BATCHML_BACKEND"] = self.backend
        if self.duckdb_threads:
            env["BATCHML_DUCKDB_THREADS"] = str(self.duckdb_threads)
        if self.duckdb_memory_limit:
            env["BATCHML_DUCKDB_MEMORY_LIMIT"] = self.duckdb_memory_limit
        return env
