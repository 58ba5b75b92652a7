"""Events as JSON lines in the run's events.jsonl (the local stand-in for CloudWatch Logs)."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from domain.ports.event_log import EventLog


class JsonlEventLog(EventLog):
    def __init__(self, path: Path, run_id: str) -> None:
        self.path = path
        self.run_id = run_id
        self._lock = threading.Lock()
        self._lost = False

    def emit(self, event: str, **fields: Any) -> None:
        record = {"ts": round(time.time(), 3), "event": event, "run_id": self.run_id, **fields}
        line = (json.dumps(record, default=str) + "\n").encode()
        # One O_APPEND write per event: lines from the orchestrator and its task processes
        # interleave whole, never mixed.
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                try:
                    os.write(fd, line)
                finally:
                    os.close(fd)
            except OSError as exc:
                # The log explains a run; it must not be what fails it (a full disk, say): the
                # run's state still records the outcome. Said once, on stderr.
                if not self._lost:
                    print(f"batchml: cannot write events to {self.path}: {exc.strerror or exc}", file=sys.stderr)
                self._lost = True


class FanOutEventLog(EventLog):
    """Sends each event to several logs (the file and the terminal display)."""

    def __init__(self, *logs: EventLog) -> None:
        self.logs = logs

    def emit(self, event: str, **fields: Any) -> None:
        for log in self.logs:
            log.emit(event, **fields)


def run_event_log(root: Path, run_id: str) -> JsonlEventLog:
    """The log at the run's conventional place, `ROOT/runs/RUN_ID/events.jsonl`."""
    return JsonlEventLog(root / "runs" / run_id / "events.jsonl", run_id)
