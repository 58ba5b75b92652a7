"""RunStore on top of any ObjectStore: run.json, per-batch markers and the root's lock.

The same code serves the local folder and S3, since both are ObjectStores.
"""

from __future__ import annotations

import json
import os
import socket
from typing import Any

from domain.layout import batch_label
from domain.ports.object_store import ObjectStore
from domain.ports.run_store import RunStore
from domain.run_state import RunState

LOCK_KEY = "runs/_lock.json"


class ObjectStoreRunStore(RunStore):
    def __init__(self, store: ObjectStore) -> None:
        self.store = store

    @staticmethod
    def _state_key(run_id: str) -> str:
        return f"runs/{run_id}/run.json"

    @staticmethod
    def _marks_prefix(run_id: str) -> str:
        return f"runs/{run_id}/markers/"

    def save(self, state: RunState) -> None:
        self.store.put(self._state_key(state.run_id), json.dumps(state.to_json(), indent=1).encode())

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

    @staticmethod
    def _payload(run_id: str, now: float) -> bytes:
        owner = {"host": socket.gethostname(), "pid": os.getpid()}
        return json.dumps({"run_id": run_id, "heartbeat": now, **owner}).encode()

    def acquire_lock(self, run_id: str, now: float, stale_after_seconds: float) -> str | None:
        payload = self._payload(run_id, now)
        if self.store.put_if_absent(LOCK_KEY, payload):
            return None
        try:
            holder = json.loads(self.store.get(LOCK_KEY))
        except (KeyError, ValueError):
            holder = {"run_id": "?", "heartbeat": 0.0}
        stale = now - float(holder["heartbeat"]) > stale_after_seconds
        if holder["run_id"] == run_id or stale or _dead_here(holder):
            # Ours already, or left behind by a run that died without releasing it.
            self.store.put(LOCK_KEY, payload)
            return None
        return str(holder["run_id"])

    def refresh_lock(self, run_id: str, now: float) -> None:
        self.store.put(LOCK_KEY, self._payload(run_id, now))

    def release_lock(self, run_id: str) -> None:
        try:
            holder = json.loads(self.store.get(LOCK_KEY))
        except KeyError:
            return
        if holder.get("run_id") == run_id:
            self.store.delete(LOCK_KEY)


def _dead_here(holder: dict[str, Any]) -> bool:
    """True if the lock's owner ran on this host and its process is gone (killed, crashed):
    no need to wait for its heartbeat to go stale. Elsewhere, only the heartbeat can tell."""
    if holder.get("host") != socket.gethostname() or not isinstance(holder.get("pid"), int):
        return False
    try:
        os.kill(holder["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
