"""StdoutEventLog: one JSON object per line, the same fields as the local events.jsonl."""

from __future__ import annotations

import io
import json
import threading

from adapters.aws.stdout_event_log import StdoutEventLog


def test_each_event_is_one_json_line_with_run_and_time() -> None:
    out = io.StringIO()
    log = StdoutEventLog("r1", stream=out)
    log.emit("stage_succeeded", stage="staging", rows=3, seconds=1.25)
    (line,) = out.getvalue().splitlines()
    record = json.loads(line)
    assert record["event"] == "stage_succeeded" and record["run_id"] == "r1"
    assert record["stage"] == "staging" and record["rows"] == 3 and isinstance(record["ts"], float)


def test_lines_from_threads_never_interleave() -> None:
    out = io.StringIO()
    log = StdoutEventLog("r1", stream=out)

    def emit_50(batch: int) -> None:
        for n in range(50):
            log.emit("batch_succeeded", batch=batch, n=n)

    threads = [threading.Thread(target=emit_50, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = out.getvalue().splitlines()
    assert len(lines) == 400 and all(json.loads(line)["event"] == "batch_succeeded" for line in lines)
