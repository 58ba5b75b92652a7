"""What a run's report shows, read back through the ports from what the run left: its state
(run.json, as written, so keys other modules add, such as a cost ledger, come along), its
events, the model card and diagnostics, examples of its rejects, and the previous published
run's state and card for the comparison. Nothing here recomputes the run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from domain.context import Ports
from domain.errors import BatchmlError
from domain.layout import RunLayout
from domain.services.publishing import read_history

EXAMPLES_PER_REASON = 3
LINE_CHARS = 160


@dataclass
class ReportInputs:
    run_id: str
    table: str
    state: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    card: dict[str, Any] | None = None
    diagnostics: dict[str, Any] | None = None
    rejects: list[dict[str, Any]] = field(default_factory=list)
    previous: dict[str, Any] | None = None  # {"state": ..., "card": ...} of the run compared with
    notes: list[str] = field(default_factory=list)  # what could not be read, and why


def _json(ports: Ports, key: str) -> Any:
    return json.loads(ports.store.get(key)) if ports.store.exists(key) else None


def gather(ports: Ports, table: str, run_id: str) -> ReportInputs:
    layout = RunLayout(run_id, table)
    state = _json(ports, layout.state_key)
    if state is None:
        raise BatchmlError(f"no run {run_id} under {ports.store.uri('runs/')}")
    found = ReportInputs(run_id=run_id, table=table, state=state)
    found.events = _events(ports, layout)
    found.card = _json(ports, layout.model_card_key)
    found.diagnostics = _json(ports, layout.diagnostics_key)
    found.rejects = _reject_examples(ports, layout, found.notes)
    found.previous = _previous(ports, table, run_id)
    return found


def _events(ports: Ports, layout: RunLayout) -> list[dict[str, Any]]:
    """The run's structured log, where it is a file under the root (locally; on AWS it is in
    CloudWatch Logs and the timeline comes from the stages' durations instead)."""
    if not ports.store.exists(layout.events_key):
        return []
    events = []
    for line in ports.store.get(layout.events_key).decode(errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue  # a line cut by a kill: the rest still tell the story
    return events


def _reject_examples(ports: Ports, layout: RunLayout, notes: list[str]) -> list[dict[str, Any]]:
    if not any(True for _ in ports.store.list(layout.rejects.location)):
        return []
    try:
        rows: list[dict[str, Any]] = ports.engine.query(
            f"SELECT reason_code, source_file, line_number, reason, substr(line, 1, {LINE_CHARS}) AS line FROM ("
            "SELECT *, row_number() OVER (PARTITION BY reason_code ORDER BY source_file, line_number) AS k "
            f"FROM {{{{ rejects }}}}) ranked WHERE k <= {EXAMPLES_PER_REASON} ORDER BY reason_code, k",
            {"rejects": layout.rejects},
            sql_name="report rejects",
        ).to_pylist()
    except BatchmlError as exc:
        notes.append(f"reject examples: {exc}")
        return []
    return rows


def _previous(ports: Ports, table: str, run_id: str) -> dict[str, Any] | None:
    """The published run before this one (this run published), or the one the table shows."""
    history = read_history(ports.store, table)
    runs: list[str] = history["runs"]
    if run_id in runs:
        place = runs.index(run_id)
        other = runs[place - 1] if place > 0 else None
    else:
        other = history["shown"]
    if other is None or other == run_id:
        return None
    layout = RunLayout(other, table)
    state = _json(ports, layout.state_key)
    return {"run_id": other, "state": state, "card": _json(ports, layout.model_card_key)} if state else None
