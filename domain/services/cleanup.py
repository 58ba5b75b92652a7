"""Pre-cleanup and cleanup: remove intermediate data, never what is published."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from domain.context import Ports, RunContext
from domain.layout import RunLayout, results_prefix
from domain.ports.sql_engine import TableRef
from domain.services.publication import follow_pointer, protected_locations, published_runs
from domain.services.removal import Removed, remove_tables


def run_pre_cleanup(ctx: RunContext) -> dict[str, Any]:
    """Finish a publish a killed run left halfway, then remove what earlier runs that never
    finished left behind.

    Starting a fresh run abandons earlier unfinished ones (a resume would have continued
    them instead): their intermediate tables and unpublished result folders are deleted;
    their state, events, rejects and model stay for the record.
    """
    rolled_forward = follow_pointer(ctx.ports, ctx.spec.output.table)
    protected = protected_locations(ctx.ports, ctx.spec.output.table)
    # Holding the root's lock, no write is under way: anything half-written is a killed run's.
    interrupted = ctx.ports.store.remove_interrupted_writes("")
    run_store, table = ctx.ports.run_store, ctx.spec.output.table
    abandoned: list[str] = []
    removed = Removed()
    for run_id in run_store.run_ids():
        state = run_store.load(run_id)
        if run_id == ctx.run_id or state is None or state.status not in ("RUNNING", "FAILED"):
            continue
        # Marked abandoned only once its data is gone: a pre-cleanup that fails halfway leaves
        # the run to the next one.
        removed += remove_intermediates(ctx.ports, RunLayout(run_id, table), protected)
        state.status = "ABANDONED"
        run_store.save(state)
        abandoned.append(run_id)
    keep = set(published_runs(ctx)) | {ctx.run_id}
    prefix = results_prefix(table)
    listed = (o.key[len(prefix) :] for o in ctx.ports.store.list(prefix))
    orphans = sorted({rest.split("/", 1)[0] for rest in listed if "/" in rest})
    unpublished = [
        TableRef(name=table, location=f"{prefix}{folder}/")
        for folder in orphans
        if folder.startswith("run_id=") and folder.removeprefix("run_id=") not in keep
    ]
    removed += remove_tables(ctx.ports, unpublished, protected)
    removed += remove_intermediates(ctx.ports, ctx.layout, protected)  # a reused run id starts clean
    return {
        "abandoned_runs": abandoned,
        "objects_deleted": removed.objects + interrupted,
        "tables_dropped": removed.tables,
        "tables_rolled_forward": rolled_forward,
    }


def run_cleanup(ctx: RunContext) -> dict[str, Any]:
    # Measured before they go: the run's ledger prices their storage and requests from them.
    sizes = table_sizes(ctx, [*ctx.layout.intermediate_tables, ctx.layout.rejects])
    if ctx.spec.output.keep_intermediates:
        return {"objects_deleted": 0, "tables_dropped": 0, "kept": True, **sizes}
    removed = remove_intermediates(ctx.ports, ctx.layout, protected_locations(ctx.ports, ctx.spec.output.table))
    return {"objects_deleted": removed.objects, "tables_dropped": removed.tables, **sizes}


def remove_intermediates(ports: Ports, layout: RunLayout, protected: Collection[str]) -> Removed:
    """A run's intermediate tables, and the batch slices that point into its features table."""
    removed = remove_tables(ports, layout.intermediate_tables, protected)
    removed.objects += ports.store.delete_prefix(layout.batch_slices_prefix)
    return removed


def table_sizes(ctx: RunContext, tables: list[TableRef]) -> dict[str, dict[str, int]]:
    """Bytes and files of each of the run's tables, by its part name (raw, staging, ...)."""
    sizes: dict[str, int] = {}
    files: dict[str, int] = {}
    for table in tables:
        part = table.location.rstrip("/").rsplit("/", 1)[-1]
        objects = ctx.ports.store.list(table.location)
        sizes[part], files[part] = sum(o.size for o in objects), len(objects)
    return {"table_bytes": sizes, "table_files": files}
