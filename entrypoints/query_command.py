"""`batchml query SQL`: the published tables (and a run's own, with --run) through DuckDB, or
through Athena for an AWS spec, as a table for people or as CSV / JSON lines for other tools."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
from rich.console import Console
from rich.table import Table
from rich.text import Text

from domain.errors import SpecError
from entrypoints import containers
from entrypoints.arg_types import at_least
from entrypoints.demo import DEFAULT_DEMO_DIR
from entrypoints.settings import Settings
from entrypoints.spec_loader import load_spec


def cmd_query(args: argparse.Namespace, console: Console) -> int:
    result = _run_query(args)
    limit = args.limit if args.limit is not None else (50 if args.format == "table" else 0)
    shown = result.slice(0, limit) if limit else result
    if args.format == "csv":
        pa_csv.write_csv(shown, sys.stdout.buffer)  # for other tools: every row, no decoration
        return 0
    if args.format == "jsonl":
        for row in shown.to_pylist():
            sys.stdout.write(json.dumps(row, default=str) + "\n")
        return 0
    grid = Table(*result.schema.names, header_style="bold")
    for row in shown.to_pylist():
        grid.add_row(*(query_cell(v) for v in row.values()))
    console.print(grid)
    if shown.num_rows < result.num_rows:
        console.print(f"({result.num_rows:,} rows, first {shown.num_rows:,} shown; --limit 0 shows all)")
    return 0


def _run_query(args: argparse.Namespace) -> pa.Table:
    if not args.spec:
        return containers.query_catalog(args.root, args.sql, args.run)
    spec = load_spec(args.spec)
    backend = Settings.from_environment().backend_for(spec)
    if backend == "local":
        return containers.query_catalog(Path(spec.output.root), args.sql, args.run)
    if backend == "hybrid":
        raise SpecError(
            f"{args.spec}: a hybrid lake's tables are registered in Glue: query them with Athena "
            "(--backend aws, with the deployment's BATCHML_* settings)"
        )
    if args.run:
        raise SpecError("--run: a run's working tables on AWS are dropped at cleanup; query the published table")
    return containers.query_athena(spec, args.sql)


def query_cell(value: object) -> Text:
    """A query result as text: "[python]" in the data is a value, not a style."""
    return Text("NULL" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value))


def add_query_command(subcommands: Any) -> None:
    query = subcommands.add_parser(
        "query", help="SQL over the published tables (DuckDB's dialect locally; Athena's for an AWS spec)"
    )
    query.add_argument("sql")
    where = query.add_mutually_exclusive_group()
    where.add_argument("--root", type=Path, default=Path(DEFAULT_DEMO_DIR) / "lake")
    where.add_argument("--spec", type=Path)
    query.add_argument(
        "--limit", type=at_least(0), help="rows to print (0: all; default 50 for the table, all for csv and jsonl)"
    )
    query.add_argument("--format", choices=["table", "csv", "jsonl"], default="table")
    query.add_argument("--run", metavar="RUN_ID", help="also query that run's own tables (staging, features, ...)")
    query.set_defaults(func=cmd_query)
