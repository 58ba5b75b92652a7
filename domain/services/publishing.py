"""Results table creation (before the fan-out), publish (after verification) and roll-back.

Published output (a run's values and the staging table they are shown joined to) is never
deleted by a run, except the oldest beyond `[output] keep_published_runs`, so a user can roll
back to the previous results. Publishing switches the results table and its rejects table
together (see services/publication.py).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from domain.context import Ports, RunContext
from domain.errors import VerificationError
from domain.layout import RunLayout, empty_results_location, results_location
from domain.ml.model import PREDICTION_SCHEMA
from domain.ports.object_store import ObjectStore
from domain.ports.sql_engine import TableRef
from domain.services.aggregation import check_column_collisions
from domain.services.publication import (
    protected_locations,
    published_runs,
    read_publication,
    rejects_table,
    shown_run,
    switch_to,
)
from domain.services.removal import remove_tables

__all__ = [
    "published_runs",
    "read_history",
    "rejects_table",
    "results_schema",
    "rollback",
    "run_publish",
    "run_results_table",
    "shown_run",
]


def results_schema(staging: pa.Schema) -> pa.Schema:
    extra = [*PREDICTION_SCHEMA, pa.field("run_id", pa.string()), pa.field("model_version", pa.string())]
    return pa.schema([*staging, *extra])


def run_results_table(ctx: RunContext) -> dict[str, Any]:
    staging = ctx.ports.engine.table_schema(ctx.layout.staging)
    check_column_collisions(ctx, staging.names)
    table = ctx.spec.output.table
    # Until the first publish the table shows an empty location: not the folder holding every
    # run's output, where Athena would read runs that were never verified.
    created = ctx.ports.catalog.ensure_table(table, results_schema(staging), empty_results_location(table))
    return {"table": table, "created": created}


def run_publish(ctx: RunContext) -> dict[str, Any]:
    spec, store, layout = ctx.spec, ctx.ports.store, ctx.layout
    history = [r for r in published_runs(ctx) if r != ctx.run_id] + [ctx.run_id]
    keep = spec.output.keep_published_runs
    retired, kept = history[:-keep], history[-keep:]
    table = spec.output.table
    switch_to(ctx.ports, table, ctx.run_id, kept, fresh=True, key=ctx.id_column)
    # Retired output goes only once neither the pointer nor the catalog names it: the values and
    # the staging table they were shown joined to (the same layout for a run published as one
    # table before: its staging table is gone already).
    retired_tables = [
        t for r in retired for t in (TableRef(table, results_location(table, r)), RunLayout(r, table).staging)
    ]
    remove_tables(ctx.ports, retired_tables, protected_locations(ctx.ports, table))
    return {
        "table": table,
        "location": store.uri(layout.results.location),
        "retired_runs": retired,
        "kept_runs": kept,
    }


def read_history(store: ObjectStore, table: str) -> dict[str, Any]:
    """{"runs": kept published runs in publish order, "shown": the one the table shows}."""
    publication = read_publication(store, table)
    return {"runs": publication.runs, "shown": publication.current}


def rollback(ports: Ports, table: str, to_run: str | None = None) -> dict[str, Any]:
    """Point the results table and its rejects table back at an earlier published run: by
    default the one published just before the run shown now, so repeated roll-backs step back
    through the kept runs in publish order (not back and forth between the last two).

    Only runs still kept (see `keep_published_runs`) can be restored; the pointer keeps their
    publish order and records which run is shown.
    """
    publication = read_publication(ports.store, table)
    runs, shown = publication.runs, publication.current
    if to_run is None:
        position = runs.index(shown) if shown in runs else len(runs) - 1
        if position <= 0:
            earlier = "it is the oldest kept one" if runs else "nothing was published"
            raise VerificationError(
                f"no earlier published run of {table} to roll back to: the table shows {shown or 'no run'} and "
                f"{earlier} (kept, oldest first: {runs}; --to RUN_ID restores a later one)"
            )
        target = runs[position - 1]
    else:
        target = to_run
    if target not in runs:
        raise VerificationError(f"run {target} is not among the kept published runs {runs}")
    switch_to(ports, table, target, runs, fresh=False)
    return {"table": table, "run_id": target, "location": ports.store.uri(results_location(table, target))}
