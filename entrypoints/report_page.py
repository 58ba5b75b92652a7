"""The run report as one self-contained HTML file: inline CSS, charts as inline SVG drawn at
build time, no script, no font or image from anywhere else, so it opens offline anywhere."""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from typing import Any

from domain.report import charts
from domain.report.gather import ReportInputs
from domain.report.sections import (
    comparison_rows,
    distribution_lines,
    funnel_steps,
    quality_rows,
    timeline_bars,
)

Render = Callable[[dict[str, Any]], str]

CSS = """
body{font:14px/1.45 Helvetica,Arial,sans-serif;color:#222;margin:0;background:#f6f7f9}
main{max-width:980px;margin:0 auto;padding:24px}
header{background:#1f2d3d;color:#fff;padding:20px 24px}header h1{margin:0 0 6px;font-size:22px}
.status{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:bold}
.SUCCEEDED{background:#54a24b}.FAILED{background:#e45756}.RUNNING,.ABANDONED{background:#bab0ac}
nav a{color:#cde;margin-right:14px;font-size:13px}
section{background:#fff;border:1px solid #e3e6ea;border-radius:6px;padding:16px 20px;margin:18px 0}
h2{font-size:17px;margin:0 0 10px}table{border-collapse:collapse;margin:8px 0}
td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.failure{background:#fdecea;border:1px solid #e45756;border-radius:6px;padding:12px 16px;margin:16px 0}
.warn{color:#b3261e;font-weight:bold}.missing{color:#777;font-style:italic}
code,pre{font:12px Menlo,Consolas,monospace;background:#f3f3f3}
pre{padding:6px;white-space:pre-wrap;word-break:break-all}
table.examples{table-layout:fixed;width:100%}table.examples td{word-break:break-all}
figure{margin:8px 0}figure svg{max-width:100%;height:auto}
"""

SECTIONS = (
    ("funnel", "Rows"),
    ("timeline", "Timeline"),
    ("quality", "Model quality"),
    ("predictions", "Predictions"),
    ("drift", "Drift"),
    ("rejects", "Rejects"),
    ("ledger", "Cost ledger"),
    ("compare", "Previous run"),
)


def e(value: Any) -> str:
    return html.escape(str(value))


def _table(header: list[str], rows: list[list[Any]], numeric: set[int] = frozenset()) -> str:  # type: ignore[assignment]
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{e(c)}</td>' if i in numeric else f"<td>{e(c)}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


class Page:
    def __init__(self, found: ReportInputs, render: Render) -> None:
        self.found, self.render, self.state = found, render, found.state

    def figure(self, chart: dict[str, Any] | None, missing: str) -> str:
        if chart is None:
            return f'<p class="missing">{e(missing)}</p>'
        return f'<figure class="chart">{self.render(chart)}</figure>'

    def stage(self, name: str) -> dict[str, Any]:
        record = self.state.get("stages", {}).get(name) or {}
        report: dict[str, Any] = record.get("report") or {}
        return report

    # -- sections -----------------------------------------------------------------------------
    def header(self) -> str:
        s = self.state
        seconds = (s.get("finished_at") or s["started_at"]) - s["started_at"]
        started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(s["started_at"]))
        model = (self.found.card or {}).get("model_version", "none")
        nav = "".join(f'<a href="#{key}">{title}</a>' for key, title in SECTIONS)
        return (
            f"<header><h1>Run {e(s['run_id'])} <span class='status {e(s['status'])}'>{e(s['status'])}</span></h1>"
            f"<div>table <b>{e(self.found.table)}</b> · started {e(started)} · {seconds:.1f} s · model {e(model)}</div>"
            f"<nav>{nav}</nav></header>"
        )

    def failure(self) -> str:
        failure = self.state.get("failure")
        if not failure:
            return ""
        batch = f", batch {failure['batch']}" if failure.get("batch") is not None else ""
        done = [n for n, r in self.state.get("stages", {}).items() if r.get("status") == "SUCCEEDED"]
        return (
            f"<div class='failure'><b>Failed in stage {e(failure['stage'])}{e(batch)}</b>"
            f"<pre>{e(failure['error'])}</pre>Stages that finished: {e(', '.join(done) or 'none')}. "
            "The published results, if any, are unchanged; the timeline below shows where the run stopped.</div>"
        )

    def funnel(self) -> str:
        steps = funnel_steps(self.state)
        rows = [[s["step"], s["part"], f"{s['rows']:,}"] for s in steps]
        note = ""
        staging = self.stage("staging")
        if staging:
            note = (
                f"<p>{staging['source_lines']:,} source lines = {staging['staged_rows']:,} staged + "
                f"{staging['rejected_rows']:,} rejected.</p>"
            )
        chart = self.figure(charts.funnel(steps), "No stage counted rows before the run stopped.")
        return chart + note + (_table(["step", "part", "rows"], rows, {2}) if rows else "")

    def timeline(self) -> str:
        bars, source = timeline_bars(self.state, self.found.events)
        retries = sum(1 for ev in self.found.events if ev.get("event") == "retry")
        text = f"<p>Drawn from {e(source)}; {retries} retries.</p>"
        return self.figure(charts.timeline(bars), "No stage started.") + text

    def quality(self) -> str:
        training, diagnostics = self.stage("training"), self.found.diagnostics or {}
        if not training:
            return '<p class="missing">No model was trained in this run.</p>'
        rows = [[r["model"], f"{r['r2']:.3f}", f"{r['mae']:.4g}", f"{r['rmse']:.4g}"] for r in quality_rows(training)]
        coverage = training.get("interval_coverage")
        parts = [
            _table(["on the holdout", "R²", "MAE", "RMSE"], rows, {1, 2, 3}),
            f"<p>Interval coverage {coverage:.1%} (target {(self.found.card or {}).get('interval_coverage', 0):.0%}) "
            f"on {training.get('holdout_rows', 0):,} holdout rows, "
            f"mean width {training.get('mean_interval_width', 0):.4g}.</p>"
            if isinstance(coverage, float)
            else "",
        ]
        if "error" in diagnostics:
            return "".join(parts) + f'<p class="missing">Diagnostics failed: {e(diagnostics["error"])}</p>'
        target = float((self.found.card or {}).get("interval_coverage", 0.8))
        residuals = diagnostics.get("residuals") or {}
        categories = diagnostics.get("categories")
        parts += [
            self.figure(charts.predicted_vs_actual(diagnostics.get("grid")), "No holdout diagnostics."),
            self.figure(
                charts.histogram(
                    "Residuals on the holdout (actual - predicted)",
                    "residual",
                    residuals.get("edges", []),
                    {"residuals": residuals.get("counts", [])},
                ),
                "No residuals.",
            ),
            self.figure(charts.deciles(diagnostics.get("deciles") or [], target), "No interval diagnostics."),
            self.figure(
                charts.bars(
                    f"Holdout MAE per {categories['feature']} (the most important categorical feature)",
                    categories["rows"],
                    "category",
                    "mae",
                    "mean absolute error",
                )
                if categories
                else None,
                "No categorical feature.",
            ),
            self.figure(
                charts.bars(
                    "Permutation importance (drop in holdout R² when the feature is shuffled)",
                    (diagnostics.get("importance") or [])[:20],
                    "feature",
                    "importance",
                    "drop in R²",
                ),
                "No importance computed.",
            ),
        ]
        return "".join(parts)

    def predictions(self) -> str:
        distribution = self.stage("aggregation").get("distribution") or {}
        series = {k: v for k, v in (distribution.get("counts") or {}).items() if k in ("EXISTING", "ML_PREDICTION")}
        label = (self.found.card or {}).get("label", "value")
        chart = charts.histogram(
            f"Predictions (ML_PREDICTION) against the known labels (EXISTING) of {label}",
            label,
            distribution.get("edges") or [],
            series,
        )
        rows = [
            [source, f"{s['rows']:,}", *(f"{s['quantiles'].get(q, 0):.4g}" for q in ("0.1", "0.5", "0.9"))]
            for source, s in (distribution.get("sources") or {}).items()
        ]
        table = _table(["value_source", "rows", "p10", "median", "p90"], rows, {1, 2, 3, 4}) if rows else ""
        return self.figure(chart, "No results were aggregated in this run.") + table

    def drift(self) -> str:
        diagnostics = self.found.diagnostics or {}
        drift = diagnostics.get("drift")
        if not drift:
            return '<p class="missing">No drift measured (no model, or no rows to score).</p>'
        limit = float(diagnostics.get("psi_warning", 0.2))
        rows = [{**d, "level": "above the threshold" if d["psi"] > limit else "below"} for d in drift[:25]]
        high = [d["feature"] for d in drift if d["psi"] > limit]
        warning = (
            f'<p class="warn">Warning: {len(high)} feature(s) drifted above PSI {limit:g}: {e(", ".join(high))}.</p>'
            if high
            else f"<p>Every feature's PSI is at most {limit:g}: the rows to score look like the training rows.</p>"
        )
        scale = charts._colour(["below", "above the threshold"])
        scale["range"] = ["#4c78a8", "#e45756"]
        chart = charts.bars(
            "Training against scoring rows: PSI per feature", rows, "feature", "psi", "PSI", field="level", scale=scale
        )
        return warning + self.figure(chart, "")

    def rejects(self) -> str:
        staging = self.stage("staging")
        reasons = staging.get("reject_reasons") or {}
        if not reasons:
            return "<p>No line was rejected.</p>" if staging else '<p class="missing">Staging did not finish.</p>'
        counts = _table(["reason", "lines"], [[r, f"{n:,}"] for r, n in reasons.items()], {1})
        examples = "".join(
            f"<tr><td>{e(x['reason_code'])}</td><td>{e(x['source_file'])}:{e(x['line_number'])}</td>"
            f"<td>{e(x['reason'])}</td><td><code>{e(x['line'] or '')}</code></td></tr>"
            for x in self.found.rejects
        )
        head = "<tr><th>reason</th><th>where</th><th>why</th><th>line</th></tr>"
        table = f"<h3>Examples</h3><table class='examples'>{head}{examples}</table>"
        return counts + (table if examples else "") + f"<p>All of them: table {e(self.found.table)}_rejects.</p>"

    def ledger(self) -> str:
        ledger = self.state.get("ledger")
        if not ledger:
            return '<p class="missing">This run recorded no cost ledger.</p>'
        if isinstance(ledger, dict):
            return _table(["item", "value"], [[k, _plain(v)] for k, v in ledger.items()])
        if isinstance(ledger, list):
            keys = list(dict.fromkeys(k for item in ledger if isinstance(item, dict) for k in item))
            return _table(keys, [[_plain(item.get(k, "")) for k in keys] for item in ledger if isinstance(item, dict)])
        return f"<pre>{e(ledger)}</pre>"

    def compare(self) -> str:
        previous = self.found.previous
        if previous is None:
            return '<p class="missing">No earlier published run to compare with.</p>'
        rows = comparison_rows(self.state, previous)
        runs = {
            f"this run ({self.state['run_id']})": self.stage("aggregation").get("distribution") or {},
            f"previous ({previous['run_id']})": (
                (previous["state"].get("stages", {}).get("aggregation") or {}).get("report", {}).get("distribution")
                or {}
            ),
        }
        chart = charts.lines(
            "Distribution of predictions (ML_PREDICTION), this run against the previous",
            distribution_lines(runs, "ML_PREDICTION"),
            (self.found.card or {}).get("label", "value"),
        )
        head = ["", "this run", f"previous published run {previous['run_id']}"]
        return _table(head, [list(r) for r in rows], {1, 2}) + self.figure(
            chart, "No prediction distribution to compare."
        )

    def html(self) -> str:
        body = []
        for key, title in SECTIONS:
            body.append(f'<section id="{key}"><h2>{e(title)}</h2>{getattr(self, key)()}</section>')
        notes = "".join(f"<li>{e(n)}</li>" for n in self.found.notes)
        return (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>batchml run {e(self.state['run_id'])}</title><style>{CSS}</style></head><body>"
            f"{self.header()}<main>{self.failure()}{''.join(body)}"
            f"{'<ul>' + notes + '</ul>' if notes else ''}</main></body></html>"
        )


def _plain(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items())
    return str(value)


def build_page(found: ReportInputs, render: Render) -> str:
    return Page(found, render).html()
