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
from rich.text import Text

from domain.errors import SpecError
from entrypoints import containers
from entrypoints.arg_types import at_least
from entrypoints.demo import DEFAULT_DEMO_DIR
from entrypoints.settings import Settings
from entrypoints.spec_loader import load_spec
from entrypoints.tables import print_table


def cmd_query(args: argparse.Namespace, console: Console) -> int:
    result = _run_query(args)
    limit = args.limit if args.limit is not None else (50 if args.format == "table" else 0)
    shown = result.slice(0, limit) if limit else result
    if args.format == "csv":
        pa_csv.write_csv(csv_ready(shown), sys.stdout.buffer)  # for other tools: every row, no decoration
        return 0
    if args.format == "jsonl":
        for row in shown.to_pylist():
            sys.stdout.write(json.dumps(row, default=str) + "\n")
        return 0
    rows = [[query_cell(v) for v in row.values()] for row in shown.to_pylist()]
    # Too many columns for the terminal: a block per row, not a grid of cells cut to nothing.
    print_table(console, result.schema.names, rows, fallback="records")
    if shown.num_rows < result.num_rows:
        console.print(f"({result.num_rows:,} rows, first {shown.num_rows:,} shown; --limit 0 shows all)")
    return 0


def csv_ready(table: pa.Table) -> pa.Table:
    """Arrow's CSV writer takes no nested values (lists, structs, maps): those columns become
    their JSON text, which other tools can parse back."""
    columns = []
    for column in table.columns:
        if pa.types.is_nested(column.type):
            text = [None if v is None else json.dumps(v, default=str) for v in column.to_pylist()]
            column = pa.chunked_array([pa.array(text, pa.string())])
        columns.append(column)
    return pa.table(columns, names=table.schema.names)


def _run_query(args: argparse.Namespace) -> pa.Table:
    if not args.spec:
        root = args.root or Path(DEFAULT_DEMO_DIR) / "lake"
        catalog = containers.local_catalog_file(root)
        if not catalog.exists():
            hint = "" if args.root else " (the demo's lake, from the folder the demo ran in)"
            raise SpecError(
                f"no catalog at {catalog}{hint}: pass --root with the lake folder (the spec's "
                "[output] root) or --spec with the pipeline's spec file"
            )
        return containers.query_catalog(root, args.sql, args.run)
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
    query.add_argument("sql", help="the SELECT to run, in quotes")
    where = query.add_mutually_exclusive_group()
    where.add_argument(
        "--root", type=Path, help=f"the lake folder, a spec's [output] root (default {DEFAULT_DEMO_DIR}/lake)"
    )
    where.add_argument("--spec", type=Path, help="the pipeline's spec file: its lake (Athena for an AWS spec)")
    query.add_argument(
        "--limit", type=at_least(0), help="rows to print (0: all; default 50 for the table, all for csv and jsonl)"
    )
    query.add_argument(
        "--format",
        choices=["table", "csv", "jsonl"],
        default="table",
        help="table for people (default); csv (nested values as JSON text) or jsonl for other tools",
    )
    query.add_argument("--run", metavar="RUN_ID", help="also query that run's own tables (staging, features, ...)")
    query.set_defaults(func=cmd_query)
