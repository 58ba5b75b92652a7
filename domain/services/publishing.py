"""Results table creation (before the fan-out) and publish (after verification).

Published output is never deleted by a run, except the oldest beyond
`[output] keep_published_runs`, so a user can roll back to the previous results.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from domain.context import RunContext
from domain.errors import VerificationError
from domain.layout import published_history_key, results_location, results_prefix
from domain.ml.model import PREDICTION_SCHEMA
from domain.ports.sql_engine import TableRef
from domain.services.aggregation import check_column_collisions
from domain.services.removal import remove_tables


def rejects_table(table: str) -> str:
    return f"{table}_rejects"


def results_schema(staging: pa.Schema) -> pa.Schema:
    extra = [*PREDICTION_SCHEMA, pa.field("run_id", pa.string()), pa.field("model_version", pa.string())]
    return pa.schema([*staging, *extra])


def run_results_table(ctx: RunContext) -> dict[str, Any]:
    staging = ctx.ports.engine.query(
        "SELECT * FROM {{ staging }} LIMIT 0", {"staging": ctx.layout.staging}, sql_name="results table"
    ).schema
    check_column_collisions(ctx, staging.names)
    table = ctx.spec.output.table
    created = ctx.ports.catalog.ensure_table(table, results_schema(staging), results_prefix(table))
    return {"table": table, "created": created}


def published_runs(ctx: RunContext) -> list[str]:
    key = published_history_key(ctx.spec.output.table)
    store = ctx.ports.store
    if not store.exists(key):
        return []
    runs: list[str] = json.loads(store.get(key))["runs"]
    return runs


def run_publish(ctx: RunContext) -> dict[str, Any]:
    spec, store, layout = ctx.spec, ctx.ports.store, ctx.layout
    schema = ctx.ports.engine.query(
        "SELECT * FROM {{ results }} LIMIT 0", {"results": layout.results}, sql_name="publish"
    ).schema
    ctx.ports.catalog.publish(spec.output.table, schema, layout.results.location)
    rejects = ctx.ports.engine.query(
        "SELECT * FROM {{ rejects }} LIMIT 0", {"rejects": layout.rejects}, sql_name="publish"
    ).schema
    # The quarantine of the published run: what did not make it into the results, and why.
    ctx.ports.catalog.publish(rejects_table(spec.output.table), rejects, layout.rejects.location)
    history = [r for r in published_runs(ctx) if r != ctx.run_id] + [ctx.run_id]
    keep = spec.output.keep_published_runs
    retired, kept = history[:-keep], history[-keep:]
    store.put(published_history_key(spec.output.table), json.dumps({"runs": kept}).encode())
    # Delete retired output only after the history no longer lists it.
    remove_tables(ctx.ports, [TableRef(spec.output.table, results_location(spec.output.table, r)) for r in retired])
    return {
        "table": spec.output.table,
        "location": store.uri(layout.results.location),
        "retired_runs": retired,
        "kept_runs": kept,
    }


def rollback(ctx: RunContext, to_run: str | None = None) -> dict[str, Any]:
    """Point the results table back at an earlier published run (the previous one by default).

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
    schema = ctx.ports.engine.query(
        "SELECT * FROM {{ results }} LIMIT 0", {"results": TableRef(table, location)}, sql_name="rollback"
    ).schema
    ctx.ports.catalog.publish(table, schema, location)
    history = [r for r in history if r != target] + [target]
    ctx.ports.store.put(published_history_key(table), json.dumps({"runs": history}).encode())
    return {"table": table, "run_id": target, "location": ctx.ports.store.uri(location)}
