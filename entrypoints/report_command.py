"""The run report: `ROOT/runs/RUN_ID/report.html`, written at the end of every run (success or
failure) and by `batchml report SPEC [--run RUN_ID]`, which prints where it is (writing it
first if it is missing, or again with --rebuild)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from rich.console import Console
from rich.markup import escape

from domain.context import Ports
from domain.errors import BatchmlError, SpecError
from domain.identifiers import check_run_id
from domain.layout import RunLayout
from domain.report.gather import gather
from domain.run_state import RunState
from domain.spec import PipelineSpec
from entrypoints import containers
from entrypoints.lake import add_lake_arguments, open_lake
from entrypoints.report_page import build_page


def write_report(ports: Ports, table: str, run_id: str) -> str:
    """Build the report from what the run left and store it beside run.json; returns its URI."""
    found = gather(ports, table, run_id)
    page = build_page(found, containers.chart_renderer().render)
    key = RunLayout(run_id, table).report_key
    ports.store.put(key, page.encode())
    return ports.store.uri(key)


def write_run_report(ports: Ports, spec: PipelineSpec, state: RunState, console: Console) -> str | None:
    """At the end of a run: the report, or a warning if it could not be written (the run's own
    outcome stands either way)."""
    started = time.perf_counter()
    try:
        where = write_report(ports, spec.output.table, state.run_id)
    except Exception as exc:  # a report is never worth failing a finished run for
        console.print(f"[yellow]warning:[/] the run report was not written: {escape(str(exc))}", soft_wrap=True)
        return None
    ports.events.emit("report_written", location=where, seconds=round(time.perf_counter() - started, 3))
    return where


def cmd_report(args: argparse.Namespace, console: Console) -> int:
    lake = open_lake(args, "report")
    if lake.table is None:
        raise SpecError(f"--root {lake.root}: no results table there; name it with --table")
    run_id = args.run or _latest(lake.ports)
    try:
        check_run_id(run_id)
    except ValueError as exc:
        raise SpecError(f"--run: {exc}") from None
    key = RunLayout(run_id, lake.table).report_key
    if args.rebuild or not lake.ports.store.exists(key):
        write_report(lake.ports, lake.table, run_id)
    console.print(lake.ports.store.uri(key), soft_wrap=True, highlight=False)
    return 0


def _latest(ports: Ports) -> str:
    states = [s for s in (ports.run_store.load(r) for r in ports.run_store.run_ids()) if s is not None]
    if not states:
        raise BatchmlError(f"no runs under {ports.store.uri('runs/')}")
    return max(states, key=lambda s: s.started_at).run_id


def add_report_command(subcommands: Any) -> None:
    report = subcommands.add_parser("report", help="the HTML report of a run: print where it is, or write it")
    add_lake_arguments(report)
    report.add_argument("--run", metavar="RUN_ID", help="the run (default: the latest)")
    report.add_argument("--rebuild", action="store_true", help="write the report again even if it exists")
    report.set_defaults(func=cmd_report)
