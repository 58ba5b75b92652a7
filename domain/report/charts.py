"""The run report's charts as Vega-Lite specifications: plain data, built from aggregates and
capped samples (never raw rows), rendered to SVG by an adapter. One function per chart; each
returns None when its data is absent, and the page says so instead of drawing an empty axis."""

from __future__ import annotations

from typing import Any

Chart = dict[str, Any]

WIDTH, HEIGHT = 620, 230
COLOURS = {
    "EXISTING": "#4c78a8",
    "ML_PREDICTION": "#f58518",
    "DEFAULT": "#9d755d",
    "staged": "#4c78a8",
    "rejected": "#e45756",
    "succeeded": "#54a24b",
    "failed": "#e45756",
    "waiting to retry": "#bab0ac",
    "running": "#eeca3b",
    "labelled": "#4c78a8",
    "to score": "#f58518",
    "no features row": "#bab0ac",
    "residuals": "#72b7b2",
}
_REJECTED = ["#e45756", "#ff9d98", "#b3261e", "#d67195", "#fcbfd2", "#9e2b25"]
_CONFIG = {
    "font": "Helvetica, Arial, sans-serif",
    "view": {"stroke": None},
    "axis": {"labelFontSize": 11, "titleFontSize": 12, "gridColor": "#eee"},
    "legend": {"labelFontSize": 11, "titleFontSize": 11, "orient": "bottom"},
}


def _chart(title: str, values: list[dict[str, Any]], body: dict[str, Any], *, height: int = HEIGHT) -> Chart:
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": {"text": title, "anchor": "start", "fontSize": 14},
        "width": WIDTH,
        "height": height,
        "data": {"values": values},
        "config": _CONFIG,
        **body,
    }


def _colour(domain: list[str]) -> dict[str, Any]:
    """Fixed colours for known parts (a source keeps its colour across charts); rejects in reds."""
    rejected = iter(_REJECTED * 3)
    return {
        "domain": domain,
        "range": [next(rejected) if d.startswith("rejected") else COLOURS.get(d, "#72b7b2") for d in domain],
    }


def funnel(steps: list[dict[str, Any]]) -> Chart | None:
    """Rows through the run: {"step", "part", "rows"} stacked per step."""
    if not steps:
        return None
    order = list(dict.fromkeys(s["step"] for s in steps))
    parts = list(dict.fromkeys(s["part"] for s in steps))
    return _chart(
        "Rows through the run",
        steps,
        {
            "mark": {"type": "bar", "height": 26},
            "encoding": {
                "y": {"field": "step", "type": "nominal", "sort": order, "title": None},
                "x": {"field": "rows", "type": "quantitative", "stack": True, "title": "rows"},
                "color": {"field": "part", "type": "nominal", "sort": parts, "title": None, "scale": _colour(parts)},
                "tooltip": [{"field": "part"}, {"field": "rows", "format": ","}],
            },
        },
        height=44 * len(order),
    )


def timeline(bars: list[dict[str, Any]]) -> Chart | None:
    """Gantt of stages and batches: {"lane", "start", "end", "state"} in seconds from the start."""
    if not bars:
        return None
    lanes = list(dict.fromkeys(b["lane"] for b in bars))
    states = [s for s in ("succeeded", "failed", "waiting to retry", "running") if any(b["state"] == s for b in bars)]
    return _chart(
        "Timeline of stages and prediction batches (retries in grey and red)",
        bars,
        {
            "mark": {"type": "bar", "height": 12, "cornerRadius": 2},
            "encoding": {
                "y": {"field": "lane", "type": "nominal", "sort": lanes, "title": None},
                "x": {"field": "start", "type": "quantitative", "title": "seconds since the run started"},
                "x2": {"field": "end"},
                "color": {"field": "state", "type": "nominal", "title": None, "scale": _colour(states)},
            },
        },
        height=max(120, 17 * len(lanes)),
    )


def predicted_vs_actual(grid: dict[str, Any] | None) -> Chart | None:
    """Holdout counts per (actual, predicted) cell, with the line where they are equal."""
    if not grid or not grid.get("counts"):
        return None
    edges = grid["edges"]
    cells = [
        {"a0": edges[i], "a1": edges[i + 1], "p0": edges[j], "p1": edges[j + 1], "rows": n}
        for i, row in enumerate(grid["counts"])
        for j, n in enumerate(row)
        if n
    ]
    diagonal = [{"a0": edges[0], "p0": edges[0]}, {"a0": edges[-1], "p0": edges[-1]}]
    axis = {"type": "quantitative", "scale": {"domain": [edges[0], edges[-1]], "nice": False}}
    return {
        **_chart("Predicted against actual (holdout rows per cell)", cells, {}, height=360),
        "width": 360,
        "layer": [
            {
                "mark": "rect",
                "encoding": {
                    "x": {"field": "a0", **axis, "title": "actual"},
                    "x2": {"field": "a1"},
                    "y": {"field": "p0", **axis, "title": "predicted"},
                    "y2": {"field": "p1"},
                    "color": {"field": "rows", "type": "quantitative", "scale": {"scheme": "blues", "type": "sqrt"}},
                },
            },
            {
                "data": {"values": diagonal},
                "mark": {"type": "line", "color": "#e45756", "strokeDash": [4, 3]},
                "encoding": {"x": {"field": "a0", **axis}, "y": {"field": "p0", **axis}},
            },
        ],
    }


def histogram(title: str, x_title: str, edges: list[float], series: dict[str, list[int]]) -> Chart | None:
    """One or more histograms over the same bins, as shares of each series' rows."""
    if not edges or not series:
        return None
    values = []
    for name, counts in series.items():
        total = max(sum(counts), 1)
        values += [
            {"from": edges[i], "to": edges[i + 1], "series": name, "share": n / total} for i, n in enumerate(counts)
        ]
    names = list(series)
    return _chart(
        title,
        values,
        {
            "mark": {"type": "bar", "opacity": 0.55 if len(names) > 1 else 0.9, "binSpacing": 0},
            "encoding": {
                "x": {"field": "from", "type": "quantitative", "bin": {"binned": True}, "title": x_title},
                "x2": {"field": "to"},
                "y": {
                    "field": "share",
                    "type": "quantitative",
                    "stack": None,
                    "title": "share of rows",
                    "axis": {"format": "%"},
                },
                "color": {"field": "series", "type": "nominal", "title": None, "scale": _colour(names)},
            },
        },
    )


def deciles(rows: list[dict[str, Any]], target: float) -> Chart | None:
    """Interval coverage (against the spec's target) and mean width, per predicted decile."""
    if not rows:
        return None
    coverage = {
        "mark": {"type": "bar", "color": "#4c78a8"},
        "encoding": {
            "x": {"field": "decile", "type": "ordinal", "title": "decile of the predicted value"},
            "y": {"field": "coverage", "type": "quantitative", "axis": {"format": "%"}, "scale": {"domain": [0, 1]}},
        },
    }
    rule = {
        "data": {"values": [{"target": target}]},
        "mark": {"type": "rule", "color": "#e45756", "strokeDash": [4, 3]},
        "encoding": {"y": {"field": "target", "type": "quantitative"}},
    }
    width = {
        "mark": {"type": "bar", "color": "#72b7b2"},
        "encoding": {
            "x": {"field": "decile", "type": "ordinal", "title": "decile of the predicted value"},
            "y": {"field": "width", "type": "quantitative", "title": "mean interval width"},
        },
    }
    chart = _chart("Interval coverage (dashed: the spec's target) and width per decile", rows, {})
    for key in ("width", "height"):
        chart.pop(key)
    chart["hconcat"] = [
        {"width": 290, "height": 200, "layer": [coverage, rule]},
        {"width": 290, "height": 200, **width},
    ]
    return chart


def bars(
    title: str, rows: list[dict[str, Any]], label: str, value: str, value_title: str, **colour: Any
) -> Chart | None:
    """Horizontal bars in the given order (importance, error per category, drift)."""
    if not rows:
        return None
    encoding: dict[str, Any] = {
        "y": {"field": label, "type": "nominal", "sort": None, "title": None},
        "x": {"field": value, "type": "quantitative", "title": value_title},
        "tooltip": [{"field": label}, {"field": value}],
    }
    if colour:
        encoding["color"] = {"field": colour["field"], "type": "nominal", "title": None, "scale": colour["scale"]}
    return _chart(
        title, rows, {"mark": {"type": "bar", "color": "#4c78a8"}, "encoding": encoding}, height=18 * len(rows)
    )


def lines(title: str, values: list[dict[str, Any]], x_title: str) -> Chart | None:
    """Shares per value, a line per run ({"value", "share", "run"})."""
    if not values:
        return None
    runs = list(dict.fromkeys(v["run"] for v in values))
    return _chart(
        title,
        values,
        {
            "mark": {"type": "line", "interpolate": "step-after", "strokeWidth": 2},
            "encoding": {
                "x": {"field": "value", "type": "quantitative", "title": x_title},
                "y": {"field": "share", "type": "quantitative", "title": "share of rows", "axis": {"format": "%"}},
                "color": {"field": "run", "type": "nominal", "title": None, "sort": runs},
            },
        },
    )
