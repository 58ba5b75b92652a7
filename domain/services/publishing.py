"""Results table creation (before the fan-out) and publish (after verification).

Published output is never deleted by a run, except the oldest beyond
`[output] keep_published_runs`, so a user can roll back to the previous results.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from domain.context import Ports, RunContext
from domain.errors import VerificationError
from domain.layout import published_history_key, results_location, results_prefix
from domain.ml.model import PREDICTION_SCHEMA
from domain.ports.object_store import ObjectStore
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


def _history(ctx: RunContext) -> dict[str, Any]:
    return read_history(ctx.ports.store, ctx.spec.output.table)


def read_history(store: ObjectStore, table: str) -> dict[str, Any]:
    """{"runs": kept published runs in publish order, "shown": the one the table shows}.
    A history written before "shown" existed shows its last run."""
    key = published_history_key(table)
    if not store.exists(key):
        return {"runs": [], "shown": None}
    history: dict[str, Any] = json.loads(store.get(key))
    runs = list(history["runs"])
    return {"runs": runs, "shown": history.get("shown") or (runs[-1] if runs else None)}


def _write_history(store: ObjectStore, table: str, runs: list[str], shown: str) -> None:
    store.put(published_history_key(table), json.dumps({"runs": runs, "shown": shown}).encode())


def published_runs(ctx: RunContext) -> list[str]:
    """The kept published runs, oldest published first (a rollback does not reorder them)."""
    runs: list[str] = _history(ctx)["runs"]
    return runs


def shown_run(ctx: RunContext) -> str | None:
    """The published run the results table shows now."""
    shown: str | None = _history(ctx)["shown"]
    return shown


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
    _write_history(store, spec.output.table, kept, ctx.run_id)
    # Delete retired output only after the history no longer lists it.
    remove_tables(ctx.ports, [TableRef(spec.output.table, results_location(spec.output.table, r)) for r in retired])
    return {
        "table": spec.output.table,
        "location": store.uri(layout.results.location),
        "retired_runs": retired,
        "kept_runs": kept,
    }


def rollback(ports: Ports, table: str, to_run: str | None = None) -> dict[str, Any]:
    """Point the results table back at an earlier published run: by default the one published
    just before the run it shows now, so repeated rollbacks step back through the kept runs in
    publish order (not back and forth between the last two).

    Only runs still kept (see `keep_published_runs`) can be restored; the history keeps its
    publish order and records which run is shown.
    """
    history = read_history(ports.store, table)
    runs, shown = history["runs"], history["shown"]
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
    location = results_location(table, target)
    schema = ports.engine.query(
        "SELECT * FROM {{ results }} LIMIT 0", {"results": TableRef(table, location)}, sql_name="rollback"
    ).schema
    ports.catalog.publish(table, schema, location)
    _write_history(ports.store, table, runs, target)
    return {"table": table, "run_id": target, "location": ports.store.uri(location)}
