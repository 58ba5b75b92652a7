"""RunStore on top of any ObjectStore: run.json, per-batch markers and the root's lock.

The same code serves the local folder and S3, since both are ObjectStores.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import uuid
from typing import Any

from domain.layout import batch_label
from domain.ports.object_store import ObjectStore
from domain.ports.run_store import LockHolder, RunStore
from domain.run_state import RunState

LOCK_KEY = "runs/_lock.json"
# Room the lock holder keeps on the lake's disk so that, when the disk fills, the run's state
# (its failure above all) can still be written: freed by the save that finds the disk full.
RESERVE_KEY = "runs/_reserved_space"
RESERVE_BYTES = 1024 * 1024
_ACQUIRE_ATTEMPTS = 5  # compare-and-swap rounds before reporting whoever holds the lock


class ObjectStoreRunStore(RunStore):
    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        # Tells this process's lock from another's with the same run id and pid (a Lambda
        # sandbox reused by the next stage): only the process that took the lock renews it.
        self._token = uuid.uuid4().hex
        self._stale_after: float | None = None

    @staticmethod
    def _state_key(run_id: str) -> str:
        return f"runs/{run_id}/run.json"

    @staticmethod
    def _marks_prefix(run_id: str) -> str:
        return f"runs/{run_id}/markers/"

    def save(self, state: RunState) -> None:
        data = json.dumps(state.to_json(), indent=1).encode()
        try:
            self.store.put(self._state_key(state.run_id), data)
        except OSError as exc:
            if exc.errno != errno.ENOSPC or not self.store.exists(RESERVE_KEY):
                raise
            self.store.delete(RESERVE_KEY)  # what it was kept for: the state still gets written
            self.store.put(self._state_key(state.run_id), data)

    def load(self, run_id: str) -> RunState | None:
        try:
            return RunState.from_json(json.loads(self.store.get(self._state_key(run_id))))
        except KeyError:
            return None

    def run_ids(self) -> list[str]:
        ids = [o.key.split("/")[1] for o in self.store.list("runs/") if o.key.endswith("/run.json")]
        return sorted(set(ids))

    def _mark_key(self, run_id: str, batch: int) -> str:
        return f"{self._marks_prefix(run_id)}batch={batch_label(batch)}.json"

    def mark_batch(self, run_id: str, batch: int, rows: int, seconds: float | None = None) -> None:
        mark: dict[str, Any] = {"batch": batch, "rows": rows}
        if seconds is not None:
            mark["seconds"] = round(seconds, 3)
        self.store.put(self._mark_key(run_id, batch), json.dumps(mark).encode())

    def batch_mark(self, run_id: str, batch: int) -> int | None:
        try:
            return int(json.loads(self.store.get(self._mark_key(run_id, batch)))["rows"])
        except KeyError:
            return None

    def batch_marks(self, run_id: str) -> dict[int, int]:
        marks: dict[int, int] = {}
        for obj in self.store.list(self._marks_prefix(run_id)):
            payload = json.loads(self.store.get(obj.key))
            marks[int(payload["batch"])] = int(payload["rows"])
        return marks

    def batch_seconds(self, run_id: str) -> dict[int, float]:
        seconds: dict[int, float] = {}
        for obj in self.store.list(self._marks_prefix(run_id)):
            payload = json.loads(self.store.get(obj.key))
            if "seconds" in payload:
                seconds[int(payload["batch"])] = float(payload["seconds"])
        return seconds

    def _payload(self, run_id: str, now: float, stale_after: float) -> bytes:
        owner = {"host": socket.gethostname(), "pid": os.getpid(), "token": self._token}
        return json.dumps({"run_id": run_id, "heartbeat": now, "stale_after": stale_after, **owner}).encode()

    def _read_lock(self) -> tuple[dict[str, Any], str] | None:
        """The lock's content and version; None if there is no lock. A lock that is not valid
        JSON (written by a version that did not write atomically) reads as long dead."""
        try:
            data, version = self.store.get_versioned(LOCK_KEY)
        except KeyError:
            return None
        try:
            holder = json.loads(data)
            float(holder["heartbeat"])
        except (ValueError, TypeError, KeyError):
            holder = {"run_id": "?", "heartbeat": 0.0}
        return holder, version

    def acquire_lock(self, run_id: str, now: float, stale_after_seconds: float) -> str | None:
        payload = self._payload(run_id, now, stale_after_seconds)
        for _ in range(_ACQUIRE_ATTEMPTS):
            if self.store.put_if_absent(LOCK_KEY, payload):
                self._took(run_id, stale_after_seconds)
                return None
            read = self._read_lock()
            if read is None:
                continue  # released between the two calls: try to create it again
            holder, version = read
            declared = holder.get("stale_after")
            stale_after = float(declared) if isinstance(declared, (int, float)) else stale_after_seconds
            stale = now - float(holder["heartbeat"]) > stale_after
            ours = holder["run_id"] == run_id and not _alive_elsewhere_here(holder)
            if not (ours or stale or _dead_here(holder)):
                return str(holder["run_id"])
            # Ours already (a resume, the next Lambda stage), or left behind by a run that died:
            # replaced only if still the version just read. Losing means another process took
            # it (or renewed it) meanwhile: look again.
            if self.store.put_if_version(LOCK_KEY, payload, version):
                self._took(run_id, stale_after_seconds)
                return None
        read = self._read_lock()
        return str(read[0]["run_id"]) if read else "?"

    def _took(self, run_id: str, stale_after: float) -> None:
        """The lock is ours: keep room on the disk for the run's state, or give the lock back."""
        self._stale_after = stale_after
        try:
            self.store.reserve_space(RESERVE_KEY, RESERVE_BYTES)
        except OSError:
            self.release_lock(run_id)  # too full to start: nothing of the run is written
            raise

    def refresh_lock(self, run_id: str, now: float) -> bool:
        read = self._read_lock()
        if read is None or read[0].get("run_id") != run_id or read[0].get("token") != self._token:
            return False  # taken over (or released): a heartbeat never writes another run's lock
        holder, version = read
        stale_after = self._stale_after or float(holder.get("stale_after") or 0.0)
        return self.store.put_if_version(LOCK_KEY, self._payload(run_id, now, stale_after), version)

    def release_lock(self, run_id: str) -> None:
        read = self._read_lock()
        if read is not None and read[0].get("run_id") == run_id:
            self.store.delete(RESERVE_KEY)
            self.store.delete_if_version(LOCK_KEY, read[1])

    def lock_holder(self) -> LockHolder | None:
        read = self._read_lock()
        if read is None:
            return None
        holder = read[0]
        declared = holder.get("stale_after")
        return LockHolder(
            run_id=str(holder["run_id"]),
            heartbeat=float(holder["heartbeat"]),
            stale_after=float(declared) if isinstance(declared, (int, float)) else None,
            host=holder.get("host"),
        )


def _process_state(holder: dict[str, Any]) -> bool | None:
    """Whether the lock's owner process is alive, if it ran on this host; None elsewhere (or
    unknown), where only the heartbeat can tell."""
    if holder.get("host") != socket.gethostname() or not isinstance(holder.get("pid"), int):
        return None
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dead_here(holder: dict[str, Any]) -> bool:
    """The owner ran on this host and its process is gone (killed, crashed): no need to wait
    for its heartbeat to go stale."""
    return _process_state(holder) is False


def _alive_elsewhere_here(holder: dict[str, Any]) -> bool:
    """Another live process on this host holds the lock under the same run id (the same run
    resumed twice at once): it is not ours to take."""
    return holder.get("pid") != os.getpid() and _process_state(holder) is True
