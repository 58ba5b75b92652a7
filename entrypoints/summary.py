"""The end-of-run summary: rows per stage, rejects, model metrics, timings, where results are."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from domain.run_state import RunState
from entrypoints.cost_summary import print_cost

_ROWS = {
    "staging": lambda r: (
        f"{r['source_lines']:,} lines -> {r['staged_rows']:,} staged + {r['rejected_rows']:,} rejected"
    ),
    "features": lambda r: (
        f"{r['feature_rows']:,} rows: {r['labelled_rows']:,} labelled, {r['scoring_rows']:,} to score"
    ),
    "training": lambda r: f"{r['training_rows']:,} training rows, model {r['model_version']}",
    "batch_planning": lambda r: f"{_count(r['batches'], 'batch')} of <= {r['rows_per_batch']:,} rows",
    "prediction": lambda r: f"{r['predicted_rows']:,} rows predicted in {_count(r['batches'], 'batch')}",
    "aggregation": lambda r: (
        f"{r['result_rows']:,} result rows " + ", ".join(f"{k} {v:,}" for k, v in sorted(r["by_source"].items()))
    ),
    "publish": lambda r: f"table {r['table']} (keeping runs {', '.join(r['kept_runs'])})",
    "cleanup": lambda r: _removed(r, "intermediate"),
    "pre_cleanup": lambda r: _removed(r, "leftover"),
}


# Athena's price per TB scanned in most regions (us-east-1 among them); each query bills at
# least 10 MB, which the per-stage totals here cannot show, so small runs cost a little more.
ATHENA_USD_PER_TB = 5.0


def _athena_cost(scanned_bytes: float) -> str:
    dollars = scanned_bytes / 1e12 * ATHENA_USD_PER_TB
    return f"${dollars:.2f}" if dollars >= 0.01 else "< $0.01"


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}es" if noun.endswith("ch") else f"{n:,} {noun}s"


def _removed(report: dict[str, Any], what: str) -> str:
    text = f"{report['objects_deleted']:,} {what} files removed"
    tables = report.get("tables_dropped", 0)  # only engines with a catalog (Athena) drop any
    return f"{text}, {tables:,} catalog tables dropped" if tables else text


def _describe(stage: str, report: dict[str, Any]) -> str:
    try:
        return _ROWS[stage](report) if stage in _ROWS else ""
    except KeyError:
        return ""


def print_summary(
    console: Console, state: RunState, *, root: str, table: str, resume_command: str, query_from: str | None = None
) -> None:
    """`query_from`: how `batchml query` finds the table (default `--root ROOT` for a local
    root; an AWS run passes `--spec SPEC`; a hybrid lake's table is queried in Athena)."""
    total = (state.finished_at or state.started_at) - state.started_at
    colour = "green" if state.status == "SUCCEEDED" else "red"
    console.print(f"\n[bold]Run {state.run_id}[/]: [{colour}]{state.status}[/] in {total:.1f}s")
    grid = Table(show_header=True, header_style="bold", box=None, padding=(0, 2))
    for column in ("stage", "status", "seconds", "attempts", "what happened"):
        grid.add_column(column, justify="right" if column in ("seconds", "attempts") else "left")
    for name, record in state.stages.items():
        grid.add_row(name, record.status, f"{record.seconds:.2f}", str(record.attempts), _describe(name, record.report))
    console.print(grid)
    staging = state.report("staging")
    if staging.get("reject_reasons"):
        reasons = ", ".join(f"{k}: {v:,}" for k, v in staging["reject_reasons"].items())
        console.print(f"Rejects: {reasons} (table {table}_rejects)")
    training = state.report("training")
    if training:
        console.print(
            f"Model: holdout R² {training['r2']:.3f}, MAE {training['mae']:.3f}, RMSE {training['rmse']:.3f}, "
            f"interval coverage {training['interval_coverage']:.1%} on {training['holdout_rows']:,} holdout rows"
        )
    scanned = {name: int(record.report.get("bytes_scanned", 0)) for name, record in state.stages.items()}
    if any(scanned.values()):
        # What Athena bills for ($ per TB scanned); locally, the Parquet DuckDB read.
        total = sum(scanned.values())
        unit, size = ("GB", 1e9) if total >= 1e9 else ("MB", 1e6)
        parts = ", ".join(f"{name} {n / size:.2f}" for name, n in scanned.items() if n)
        console.print(
            f"Scanned: {total / size:.2f} {unit} by the SQL stages ({parts} {unit}): "
            f"{_athena_cost(total)} at Athena's ${ATHENA_USD_PER_TB:g} per TB",
            highlight=False,
        )
    print_cost(console, state)
    if state.status == "SUCCEEDED":
        console.print(f"Results: table [bold]{table}[/] at {state.report('publish').get('location', '?')}")
        where = query_from or (f"--root {root}" if "://" not in root else None)
        if where:
            console.print(f'Query:   batchml query "SELECT value_source, count(*) FROM {table} GROUP BY 1" {where}')
    elif state.failure:
        where = f" (batch {state.failure.batch})" if state.failure.batch is not None else ""
        console.print(f"[red]Failed in {state.failure.stage}{where}:[/] {escape(state.failure.error)}")
        console.print("The published results, if any, are unchanged.")
        console.print(f"Resume:  {resume_command}")
    console.print(f"Events:  {root}/runs/{state.run_id}/events.jsonl")
