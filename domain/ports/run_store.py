"""RunStore: a run's persisted state, per-batch completion markers and the root's lock."""

from __future__ import annotations

import abc
from dataclasses import dataclass

from domain.run_state import RunState


@dataclass(frozen=True)
class LockHolder:
    """Who holds the root's lock, as its last heartbeat wrote it."""

    run_id: str
    heartbeat: float
    stale_after: float | None  # how long the holder said it may stay silent (None: an older lock)
    host: str | None

    def stale_at(self, default_stale_after: float) -> float:
        """When the lock may be taken over if no heartbeat comes (sooner if its process died
        on the machine looking)."""
        return self.heartbeat + (self.stale_after if self.stale_after is not None else default_stale_after)


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
        """Take the root's run lock for `run_id`, saying it will be renewed within
        `stale_after_seconds`. Returns None on success, or the id of the run that holds it.
        A lock not renewed within what its holder said, or whose holder died on this machine,
        is taken over by compare-and-swap: of two processes taking it over at once, one wins."""

    @abc.abstractmethod
    def refresh_lock(self, run_id: str, now: float) -> bool:
        """Renew the lock this process took for `run_id`. False, writing nothing, if another
        run has taken it over meanwhile."""

    @abc.abstractmethod
    def release_lock(self, run_id: str) -> None:
        """Free the lock if `run_id` holds it; never another run's."""

    @abc.abstractmethod
    def lock_holder(self) -> LockHolder | None:
        """Who holds the lock now, for messages; None if nobody does."""
