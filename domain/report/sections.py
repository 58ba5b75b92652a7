"""The report's data, shaped for its charts and tables: pure functions of what `gather` read."""

from __future__ import annotations

from typing import Any

from domain.spec import STAGE_NAMES


def _report(state: dict[str, Any], stage: str) -> dict[str, Any]:
    record = state.get("stages", {}).get(stage) or {}
    report: dict[str, Any] = record.get("report") or {}
    return report


def funnel_steps(state: dict[str, Any]) -> list[dict[str, Any]]:
    """source lines -> staged / rejected by reason -> labelled / to score -> by value_source."""
    staging, features, results = (_report(state, s) for s in ("staging", "features", "aggregation"))
    steps: list[dict[str, Any]] = []
    if staging:
        steps.append({"step": "source lines", "part": "staged", "rows": staging["staged_rows"]})
        for reason, n in sorted((staging.get("reject_reasons") or {}).items()):
            steps.append({"step": "source lines", "part": f"rejected: {reason}", "rows": n})
    if features:
        steps.append({"step": "staged rows", "part": "labelled", "rows": features["labelled_rows"]})
        steps.append({"step": "staged rows", "part": "to score", "rows": features["scoring_rows"]})
        if features.get("rows_without_features"):
            steps.append({"step": "staged rows", "part": "no features row", "rows": features["rows_without_features"]})
    for source, n in sorted((results.get("by_source") or {}).items()):
        steps.append({"step": "result rows", "part": source, "rows": n})
    return steps


def timeline_bars(state: dict[str, Any], events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
    """Gantt bars per stage and batch, each attempt its own bar, waits before a retry too, and
    what they were drawn from."""
    if any(e.get("event") == "stage_started" for e in events):
        return _bars_from_events(state, events), "the run's events"
    start, bars = 0.0, []
    for name in STAGE_NAMES:
        record = state.get("stages", {}).get(name)
        if record:
            outcome = {"SUCCEEDED": "succeeded", "FAILED": "failed"}.get(record["status"], "running")
            bars.append({"lane": name, "start": start, "end": start + record["seconds"], "state": outcome})
            start += record["seconds"]
    return bars, "the stages' durations in run.json, end to end (this backend keeps no event file)"


def _bars_from_events(state: dict[str, Any], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    t0 = float(state.get("started_at") or events[0]["ts"])
    last = max(float(e["ts"]) for e in events)
    open_since: dict[str, float] = {}
    bars: list[dict[str, Any]] = []
    order: list[str] = []

    def lane_of(event: dict[str, Any]) -> str:
        batch = event.get("batch")
        return f"batch {batch:05d}" if isinstance(batch, int) else str(event.get("stage"))

    def close(lane: str, at: float, outcome: str) -> None:
        if lane in open_since:
            bars.append({"lane": lane, "start": open_since.pop(lane) - t0, "end": at - t0, "state": outcome})

    for event in events:
        kind, ts = event.get("event"), float(event.get("ts", t0))
        if kind in ("stage_started", "batch_started"):
            lane = lane_of(event)
            order.append(lane) if lane not in order else None
            open_since[lane] = ts
        elif kind == "retry":
            lane, delay = lane_of(event), float(event.get("delay_seconds") or 0.0)
            close(lane, ts, "failed")
            bars.append({"lane": lane, "start": ts - t0, "end": ts + delay - t0, "state": "waiting to retry"})
            open_since[lane] = ts + delay
        elif kind in ("stage_succeeded", "batch_succeeded"):
            close(lane_of(event), ts, "succeeded")
        elif kind in ("stage_failed", "batch_failed"):
            close(lane_of(event), ts, "failed")
    for lane in list(open_since):
        close(lane, last, "running")  # killed, or never told: drawn up to the last event
    rank = {lane: i for i, lane in enumerate(order)}
    return sorted(bars, key=lambda b: (rank.get(b["lane"], 0), b["start"]))


def quality_rows(training: dict[str, Any]) -> list[dict[str, Any]]:
    """The model and its baselines, one row each, on the same holdout."""
    if not training:
        return []
    rows = [{"model": "this model", **{k: training.get(k) for k in ("r2", "mae", "rmse")}}]
    for name, metrics in (training.get("baselines") or {}).items():
        rows.append({"model": f"baseline: {name}", **metrics})
    return rows


def comparison_rows(state: dict[str, Any], previous: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(measure, this run, previous run): sizes, model quality and the predictions' spread."""
    other = previous["state"]

    def get(s: dict[str, Any], stage: str, *path: str) -> Any:
        value: Any = _report(s, stage)
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    measures: list[tuple[str, str, tuple[str, ...], str]] = [
        ("source lines", "staging", ("source_lines",), "{:,}"),
        ("rejected lines", "staging", ("rejected_rows",), "{:,}"),
        ("result rows", "aggregation", ("result_rows",), "{:,}"),
        ("labelled (EXISTING)", "aggregation", ("by_source", "EXISTING"), "{:,}"),
        ("predicted (ML_PREDICTION)", "aggregation", ("by_source", "ML_PREDICTION"), "{:,}"),
        ("holdout R²", "training", ("r2",), "{:.3f}"),
        ("holdout MAE", "training", ("mae",), "{:.4g}"),
        ("interval coverage", "training", ("interval_coverage",), "{:.1%}"),
        ("mean interval width", "training", ("mean_interval_width",), "{:.4g}"),
        ("mean prediction", "aggregation", ("distribution", "sources", "ML_PREDICTION", "mean"), "{:.4g}"),
        (
            "median prediction",
            "aggregation",
            ("distribution", "sources", "ML_PREDICTION", "quantiles", "0.5"),
            "{:.4g}",
        ),
    ]
    rows = []
    for label, stage, path, form in measures:
        mine, theirs = get(state, stage, *path), get(other, stage, *path)
        if mine is None and theirs is None:
            continue
        rows.append((label, "" if mine is None else form.format(mine), "" if theirs is None else form.format(theirs)))
    return rows


def distribution_lines(runs: dict[str, dict[str, Any]], source: str) -> list[dict[str, Any]]:
    """Share of `source` rows per bin midpoint, for each run's own bins: runs with different
    bins side by side as lines."""
    values = []
    for name, distribution in runs.items():
        edges, counts = distribution.get("edges") or [], (distribution.get("counts") or {}).get(source)
        if not edges or not counts:
            continue
        total = max(sum(counts), 1)
        values += [
            {"value": (edges[i] + edges[i + 1]) / 2, "share": n / total, "run": name} for i, n in enumerate(counts)
        ]
    return values
