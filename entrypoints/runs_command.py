"""`batchml runs SPEC`: the runs under a spec's output root, newest first: what finished, what
failed and where, what can be resumed, which run the results table shows, and each run's row
count and model quality side by side."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from domain.run_state import RunState
from domain.services.publishing import published_runs
from domain.spec import STAGE_NAMES
from entrypoints import containers
from entrypoints.arg_types import at_least
from entrypoints.cost_summary import cost_cell
from entrypoints.settings import Settings
from entrypoints.spec_loader import load_spec


def cmd_runs(args: argparse.Namespace, console: Console) -> int:
    spec = load_spec(args.spec)
    container = containers.build_container(spec, Settings.from_environment(backend=args.backend), args.spec)
    ctx = containers.run_context(container, spec, "runs")
    history = published_runs(ctx)
    states = [s for s in (ctx.ports.run_store.load(r) for r in ctx.ports.run_store.run_ids()) if s is not None]
    states.sort(key=lambda s: s.started_at, reverse=True)
    grid = Table(
        "run",
        "status",
        "started (UTC)",
        "seconds",
        "stages",
        "rows",
        "R²",
        "coverage",
        "AWS $",
        "results",
        "failure",
        header_style="bold",
    )
    for state in states[: args.limit]:
        grid.add_row(
            state.run_id,
            state.status,
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(state.started_at)),
            f"{state.finished_at - state.started_at:.1f}" if state.finished_at else "",
            f"{sum(state.stage_done(name) for name in STAGE_NAMES)}/{len(STAGE_NAMES)}",
            *_outcome(state),
            cost_cell(state),
            _published(state.run_id, history),
            escape(_failure(state)),
        )
    console.print(grid)
    if len(states) > args.limit:
        console.print(f"({len(states):,} runs, newest {args.limit} shown)")
    resumable = [s.run_id for s in states if s.status in ("FAILED", "RUNNING")]
    if resumable:
        # RUNNING may also be a run still going on another machine: the resume's lock says so.
        console.print(f"Resume one with: batchml run {args.spec} --resume {resumable[0]}")
    return 0


def _outcome(state: RunState) -> tuple[str, str, str]:
    """Result rows, and the model's holdout R² and interval coverage: runs side by side show
    whether the data or the model changed."""
    rows = state.report("aggregation").get("result_rows")
    model = state.report("training")
    r2, coverage = model.get("r2"), model.get("interval_coverage")
    return (
        f"{rows:,}" if isinstance(rows, int) else "",
        f"{r2:.3f}" if isinstance(r2, float) else "",
        f"{coverage:.1%}" if isinstance(coverage, float) else "",
    )


def _published(run_id: str, history: list[str]) -> str:
    if history and run_id == history[-1]:
        return "shown"
    return "kept" if run_id in history else ""


def _failure(state: RunState) -> str:
    if state.failure is None:
        return ""
    where = f" batch {state.failure.batch}" if state.failure.batch is not None else ""
    return f"{state.failure.stage}{where}: {state.failure.error}"[:160]


def add_runs_command(subcommands: Any) -> None:
    runs = subcommands.add_parser("runs", help="the runs under a spec's output root, newest first")
    runs.add_argument("spec", type=Path)
    runs.add_argument("--backend", choices=containers.BACKENDS)
    runs.add_argument("--limit", type=at_least(1), default=20, help="runs to show (default 20)")
    runs.set_defaults(func=cmd_runs)
