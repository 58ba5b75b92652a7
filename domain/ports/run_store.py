"""RunStore: a run's persisted state, per-batch completion markers and the root's lock."""

from __future__ import annotations

import abc

from domain.run_state import RunState


class RunStore(abc.ABC):
    @abc.abstractmethod
    def save(self, state: RunState) -> None:
        """Persist the run's state (atomically replacing the previous one)."""

    @abc.abstractmethod
    def load(self, run_id: str) -> RunState | None: ...

    @abc.abstractmethod
    def run_ids(self) -> list[str]:
        """Every run with persisted state under the root, oldest first."""

    @abc.abstractmethod
    def mark_batch(self, run_id: str, batch: int, rows: int, seconds: float | None = None) -> None:
        """Record that `batch` wrote its output with `rows` rows; `seconds`: how long its task
        took by its own clock (for the run's ledger)."""

    @abc.abstractmethod
    def batch_marks(self, run_id: str) -> dict[int, int]:
        """Completed batches of the run and their row counts."""

    @abc.abstractmethod
    def batch_mark(self, run_id: str, batch: int) -> int | None:
        """The row count `batch` was marked with, or None: one read, for a task that asks only
        about its own batch (batch_marks reads every mark)."""

    @abc.abstractmethod
    def batch_seconds(self, run_id: str) -> dict[int, float]:
        """The task seconds the completed batches recorded with their markers (batches marked
        without them are left out)."""

    @abc.abstractmethod
    def acquire_lock(self, run_id: str, now: float, stale_after_seconds: float) -> str | None:
        """Take the root's run lock for `run_id`. Returns None on success, or the id of the run
        that holds it. A lock not refreshed for `stale_after_seconds` is taken over."""

    @abc.abstractmethod
    def refresh_lock(self, run_id: str, now: float) -> None: ...

    @abc.abstractmethod
    def release_lock(self, run_id: str) -> None: ...
