"""`batchml runs SPEC | --root ROOT`: the runs under a lake, newest first: what finished, what
failed and where, what can be resumed, which run the results table shows (and each published
run's place in publish order, which `rollback` steps back through), and each run's row count and
model quality beside its baselines."""

from __future__ import annotations

import argparse
import time
from typing import Any

from rich.console import Console

from domain.run_state import RunState
from domain.services.publishing import read_history
from domain.spec import STAGE_NAMES
from entrypoints.arg_types import at_least
from entrypoints.cost_summary import print_run_costs
from entrypoints.lake import add_lake_arguments, open_lake
from entrypoints.quality import baseline_text
from entrypoints.resume_advice import can_resume
from entrypoints.tables import print_table

COLUMNS = ("run", "status", "started (UTC)", "seconds", "stages", "rows", "R²", "baselines R²", "coverage",
           "published", "failure")  # fmt: skip


def cmd_runs(args: argparse.Namespace, console: Console) -> int:
    lake = open_lake(args, "runs")
    history = read_history(lake.ports.store, lake.table) if lake.table else {"runs": [], "shown": None}
    run_store = lake.ports.run_store
    states = [s for s in (run_store.load(r) for r in run_store.run_ids()) if s is not None]
    states.sort(key=lambda s: s.started_at, reverse=True)
    rows = [
        (
            state.run_id,
            state.status,
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(state.started_at)),
            f"{state.finished_at - state.started_at:.1f}" if state.finished_at else "",
            f"{sum(state.stage_done(name) for name in STAGE_NAMES)}/{len(STAGE_NAMES)}",
            *_outcome(state),
            _published(state.run_id, history),
            _failure(state),
        )
        for state in states[: args.limit]
    ]
    print_table(console, COLUMNS, rows, right=("seconds", "rows", "R²", "coverage"))
    print_run_costs(console, states[: args.limit])
    if len(states) > args.limit:
        console.print(f"({len(states):,} runs, newest {args.limit} shown)")
    if len(history["runs"]) > 1:
        console.print(
            f"published: place in publish order; `{lake.command('rollback')}` shows the run published before "
            "the shown one",
            highlight=False,
            soft_wrap=True,
        )
    resumable = [s.run_id for s in states if can_resume(s)]
    if resumable:
        # RUNNING may also be a run still going on another machine: the resume's lock says so.
        target = str(lake.spec_file) if lake.spec_file else "SPEC"
        console.print(f"Resume one with: batchml run {target} --resume {resumable[0]}", highlight=False)
    return 0


def _outcome(state: RunState) -> tuple[str, str, str, str]:
    """Result rows, the model's holdout R² (and its baselines') and interval coverage: runs side
    by side show whether the data or the model changed."""
    rows = state.report("aggregation").get("result_rows")
    model = state.report("training")
    r2, coverage = model.get("r2"), model.get("interval_coverage")
    return (
        f"{rows:,}" if isinstance(rows, int) else "",
        f"{r2:.3f}" if isinstance(r2, float) else "",
        baseline_text(model),
        f"{coverage:.1%}" if isinstance(coverage, float) else "",
    )


def _published(run_id: str, history: dict[str, Any]) -> str:
    runs: list[str] = history["runs"]
    if run_id not in runs:
        return ""
    place = f"{runs.index(run_id) + 1}/{len(runs)}"
    return f"shown {place}" if run_id == history["shown"] else f"kept {place}"


def _failure(state: RunState) -> str:
    if state.failure is None:
        return ""
    where = f" batch {state.failure.batch}" if state.failure.batch is not None else ""
    return f"{state.failure.stage}{where}: {state.failure.error}"[:160]


def add_runs_command(subcommands: Any) -> None:
    runs = subcommands.add_parser("runs", help="the runs under a lake, newest first")
    add_lake_arguments(runs)
    runs.add_argument("--limit", type=at_least(1), default=20, help="runs to show (default 20)")
    runs.set_defaults(func=cmd_runs)
