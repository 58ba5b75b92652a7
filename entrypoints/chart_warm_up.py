"""When the run report's chart engine starts: once the run is past its pre-cleanup.

Starting it costs about 0.9 s (importing vl-convert and drawing a first chart), mostly holding
the GIL. Started with the run, it held the pre-cleanup up by 0.35 s (0.45 s instead of
0.08-0.11 at 1M rows, measured), so the stage's time and the cost model's rate for it
measured the import, not the pre-cleanup. From the next stage on it overlaps DuckDB's own
threads; with two busy cores staging takes part of it back (no net change in a whole run
was measurable at 1M), and the engine is ready long before the report is drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.ports.event_log import EventLog

_FIRST_STAGE = "pre_cleanup"


class WarmUpAfterPreCleanup(EventLog):
    """An event log that only watches: `start` is called once, at the first stage after the
    pre-cleanup that starts or is skipped (a resumed run skips the stages it finished)."""

    def __init__(self, start: Callable[[], None]) -> None:
        self._start: Callable[[], None] | None = start

    def emit(self, event: str, **fields: Any) -> None:
        if self._start is None or event not in ("stage_started", "stage_skipped"):
            return
        if fields.get("stage") == _FIRST_STAGE:
            return
        start, self._start = self._start, None
        start()
