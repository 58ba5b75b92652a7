"""TaskRunner: runs one container task (training or a prediction batch) to its end."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class TaskSpec:
    """What to run. The adapter turns it into a process, a container or an ECS task whose
    command is `batchml-task <role> --run-id RUN [--batch N]`."""

    role: Literal["train", "predict"]
    run_id: str
    batch: int | None = None
    attempt: int = 1
    env: dict[str, str] = field(default_factory=dict)

    @property
    def task_id(self) -> str:
        return self.role if self.batch is None else f"{self.role}-{self.batch:05d}"

    def arguments(self) -> list[str]:
        """The container command's arguments, the same for every runner."""
        args = [self.role, "--run-id", self.run_id]
        if self.batch is not None:
            args += ["--batch", str(self.batch)]
        return args


# The container main's exit codes: 0 done; PERMANENT_EXIT_CODE when a retry cannot help
# (bad spec, bad data, schema mismatch); anything else may be transient.
PERMANENT_EXIT_CODE = 3
# A task's last words: this mark, then JSON {"error": ..., "type": ...}, on its own output line.
TASK_ERROR_MARK = "BATCHML_TASK_ERROR "


@dataclass(frozen=True)
class TaskOutcome:
    task_id: str
    succeeded: bool
    exit_code: int | None
    reason: str
    seconds: float

    @property
    def permanent(self) -> bool:
        return self.exit_code == PERMANENT_EXIT_CODE


class TaskRunner(abc.ABC):
    """Runs tasks; never raises for a task that fails, it reports it in the outcome.

    A non-zero exit code, a timeout or a task that could not start all give
    `succeeded=False` with a `reason` a user can act on (the last error the task printed,
    or why the platform stopped it).
    """

    @abc.abstractmethod
    def run(self, task: TaskSpec, timeout_seconds: float) -> TaskOutcome:
        """Start `task`, wait for it to end (killing it after `timeout_seconds`), report."""

    def prepare(self) -> None:  # noqa: B027 - optional hook: most runners have nothing to warm up
        """Start warming up for tasks to come (called when a run starts); must not block."""

    def release(self) -> None:  # noqa: B027 - optional hook: most runners keep nothing between tasks
        """Free what the runner keeps warm between tasks (called once no task is left to run);
        a later task starts it again."""
