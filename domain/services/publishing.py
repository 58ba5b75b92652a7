"""Results table creation (before the fan-out), publish (after verification) and roll-back.

Published output is never deleted by a run, except the oldest beyond
`[output] keep_published_runs`, so a user can roll back to the previous results. Publishing
switches the results table and its rejects table together (see services/publication.py).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from domain.context import RunContext
from domain.errors import VerificationError
from domain.layout import empty_results_location, results_location
from domain.ml.model import PREDICTION_SCHEMA
from domain.ports.sql_engine import TableRef
from domain.services.aggregation import check_column_collisions
from domain.services.publication import (
    protected_locations,
    published_runs,
    rejects_table,
    switch_to,
)
from domain.services.removal import remove_tables

__all__ = ["published_runs", "rejects_table", "results_schema", "rollback", "run_publish", "run_results_table"]


def results_schema(staging: pa.Schema) -> pa.Schema:
    extra = [*PREDICTION_SCHEMA, pa.field("run_id", pa.string()), pa.field("model_version", pa.string())]
    return pa.schema([*staging, *extra])


def run_results_table(ctx: RunContext) -> dict[str, Any]:
    staging = ctx.ports.engine.query(
        "SELECT * FROM {{ staging }} LIMIT 0", {"staging": ctx.layout.staging}, sql_name="results table"
    ).schema
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
    switch_to(ctx, ctx.run_id, kept, fresh=True)
    # Retired output goes only once neither the pointer nor the catalog names it.
    table = spec.output.table
    retired_tables = [TableRef(table, results_location(table, r)) for r in retired]
    remove_tables(ctx.ports, retired_tables, protected_locations(ctx))
    return {
        "table": table,
        "location": store.uri(layout.results.location),
        "retired_runs": retired,
        "kept_runs": kept,
    }


def rollback(ctx: RunContext, to_run: str | None = None) -> dict[str, Any]:
    """Point the results table and its rejects table back at an earlier published run (the
    previous one by default).

    Only runs still kept (see `keep_published_runs`) can be restored; the history is rewritten
    so the restored run is the current one.
    """
    history = published_runs(ctx)
    if len(history) < 2 and to_run is None:
        raise VerificationError(f"no earlier published run of {ctx.spec.output.table} to roll back to")
    target = to_run or history[-2]
    if target not in history:
        raise VerificationError(f"run {target} is not among the kept published runs {history}")
    table = ctx.spec.output.table
    location = results_location(table, target)
    switch_to(ctx, target, [r for r in history if r != target] + [target], fresh=False)
    return {"table": table, "run_id": target, "location": ctx.ports.store.uri(location)}
