"""A terminal view of the run's events: a bar for the stages and one for the batches."""

from __future__ import annotations

import threading
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from domain.ports.event_log import EventLog


class RichProgressEventLog(EventLog):
    def __init__(self, stage_count: int, console: Console | None = None) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<34}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.stages: TaskID = self.progress.add_task("stages", total=stage_count)
        self.batches: TaskID | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> RichProgressEventLog:
        self.progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.progress.stop()

    def emit(self, event: str, **fields: Any) -> None:
        with self._lock:
            self._update(event, fields)

    def _update(self, event: str, fields: dict[str, Any]) -> None:
        stage = fields.get("stage", "")
        if event == "stage_started":
            self.progress.update(self.stages, description=f"stage: {stage}")
        elif event in ("stage_succeeded", "stage_skipped"):
            self.progress.advance(self.stages)
        elif event == "map_started":
            self.batches = self.progress.add_task(
                f"batches (max {fields['max_concurrency']} at once)", total=fields["batches"]
            )
            self.progress.advance(self.batches, fields.get("skipped", 0))
        elif event == "batch_succeeded" and self.batches is not None:
            self.progress.advance(self.batches)
        elif event in ("retry", "batch_failed", "stage_failed"):
            where = f"batch {fields['batch']}" if fields.get("batch") is not None else stage
            # Errors quote spec sections and stages in brackets ("[staging] ..."): text, not markup.
            self.progress.console.print(f"[yellow]{event}[/] {where}: {escape(str(fields.get('error', '')))}")
        elif event == "run_succeeded":
            self.progress.update(self.stages, description="done")
