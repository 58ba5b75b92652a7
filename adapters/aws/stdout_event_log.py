"""Events as JSON lines on stdout: CloudWatch Logs captures a Lambda's and a Fargate task's
stdout, so each event becomes one log record that Logs Insights can query by field."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

from domain.ports.event_log import EventLog


class StdoutEventLog(EventLog):
    def __init__(self, run_id: str, stream: TextIO | None = None) -> None:
        self.run_id = run_id
        self.stream = stream
        self._lock = threading.Lock()

    def emit(self, event: str, **fields: Any) -> None:
        # The same record as the local JsonlEventLog writes, so one query reads both.
        record = {"ts": round(time.time(), 3), "event": event, "run_id": self.run_id, **fields}
        line = json.dumps(record, default=str) + "\n"
        stream = self.stream or sys.stdout  # looked up late: tests and runtimes swap sys.stdout
        with self._lock:  # one write per event: lines from worker threads never interleave
            stream.write(line)
            stream.flush()
