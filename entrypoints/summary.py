"""The end-of-run summary: rows per stage, rejects, model metrics, timings, where results are."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from domain.run_state import RunState
from entrypoints.cost_summary import print_cost
from entrypoints.quality import model_line
from entrypoints.resume_advice import next_step
from entrypoints.tables import print_table

STAGE_COLUMNS = ("stage", "status", "seconds", "attempts", "what happened")

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
    "pre_cleanup": lambda r: _removed(r, "leftover") + _rolled_forward(r),
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


def _rolled_forward(report: dict[str, Any]) -> str:
    tables = report.get("tables_rolled_forward") or []
    return f"; finished a killed run's publish ({', '.join(tables)})" if tables else ""


def _describe(stage: str, report: dict[str, Any]) -> str:
    try:
        return _ROWS[stage](report) if stage in _ROWS else ""
    except KeyError:
        return ""


def print_summary(
    console: Console,
    state: RunState,
    *,
    root: str,
    table: str,
    resume_command: str,
    query_from: str | None = None,
    spec_file: str | None = None,
    report: str | None = None,
) -> None:
    """`query_from`: how `batchml query` finds the table (default `--root ROOT` for a local
    root; an AWS run passes `--spec SPEC`; a hybrid lake's table is queried in Athena).
    `spec_file`: named with the commands that take it (runs, rollback, report); `report`: where
    the run's HTML report is."""
    _print_header(console, state)
    _print_stages(console, state)
    _print_rejects(console, state, table)
    _print_model(console, state)
    _print_scanned(console, state)
    print_cost(console, state)
    if state.status == "SUCCEEDED":
        _print_results(console, state, root, table, query_from)
    elif state.failure:
        _print_failure(console, state, resume_command)
    _print_where(console, state, root, spec_file, report)


def _print_header(console: Console, state: RunState) -> None:
    total = (state.finished_at or state.started_at) - state.started_at
    colour = "green" if state.status == "SUCCEEDED" else "red"
    console.print(f"\n[bold]Run {state.run_id}[/]: [{colour}]{state.status}[/] in {total:.1f}s")


def _print_stages(console: Console, state: RunState) -> None:
    rows = [
        (name, record.status, f"{record.seconds:.2f}", str(record.attempts), _describe(name, record.report))
        for name, record in state.stages.items()
    ]
    # Too narrow for the grid (or piped at 80 columns): a line per stage, nothing cut.
    print_table(console, STAGE_COLUMNS, rows, right=("seconds", "attempts"), boxed=False)


def _print_rejects(console: Console, state: RunState, table: str) -> None:
    staging = state.report("staging")
    if staging.get("reject_reasons"):
        reasons = ", ".join(f"{k}: {v:,}" for k, v in staging["reject_reasons"].items())
        console.print(f"Rejects: {reasons} (table {table}_rejects)", soft_wrap=True)


def _print_model(console: Console, state: RunState) -> None:
    training = state.report("training")
    if training:
        console.print(f"Model: {model_line(training)}", soft_wrap=True, highlight=False)


def _print_scanned(console: Console, state: RunState) -> None:
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
            soft_wrap=True,
        )


def _print_results(console: Console, state: RunState, root: str, table: str, query_from: str | None) -> None:
    console.print(f"Results: table [bold]{table}[/] at {state.report('publish').get('location', '?')}", soft_wrap=True)
    where = query_from or (f"--root {root}" if "://" not in root else None)
    if where:
        console.print(
            f'Query:   batchml query "SELECT value_source, count(*) FROM {table} GROUP BY 1" {where}', soft_wrap=True
        )


def _print_failure(console: Console, state: RunState, resume_command: str) -> None:
    assert state.failure is not None
    where = f" (batch {state.failure.batch})" if state.failure.batch is not None else ""
    console.print(f"[red]Failed in {state.failure.stage}{where}:[/] {escape(state.failure.error)}", soft_wrap=True)
    console.print("The published results, if any, are unchanged.")
    rerun = resume_command.split(" --resume ")[0]  # the same command, as a new run
    console.print(next_step(state, resume_command, rerun), soft_wrap=True, highlight=False)


def _print_where(console: Console, state: RunState, root: str, spec_file: str | None, report: str | None) -> None:
    if report:
        console.print(f"Report:  {report}", soft_wrap=True, highlight=False)
    console.print(f"Events:  {root}/runs/{state.run_id}/events.jsonl", soft_wrap=True, highlight=False)
    if spec_file:
        console.print(
            f"Spec:    {spec_file} (batchml runs {spec_file}; rollback, report and validate take it too)",
            soft_wrap=True,
            highlight=False,
        )
