"""Pre-cleanup and cleanup: remove intermediate data, never published results."""

from __future__ import annotations

from typing import Any

from domain.context import RunContext
from domain.layout import RunLayout, results_prefix
from domain.services.publishing import published_runs


def run_pre_cleanup(ctx: RunContext) -> dict[str, Any]:
    """Remove what earlier runs that never finished left behind.

    Starting a fresh run abandons earlier unfinished ones (a resume would have continued
    them instead): their intermediate tables and unpublished result folders are deleted;
    their state, events, rejects and model stay for the record.
    """
    store, run_store = ctx.ports.store, ctx.ports.run_store
    abandoned: list[str] = []
    deleted = 0
    for run_id in run_store.run_ids():
        state = run_store.load(run_id)
        if run_id == ctx.run_id or state is None or state.status not in ("RUNNING", "FAILED"):
            continue
        for prefix in RunLayout(run_id, ctx.spec.output.table).intermediate_prefixes:
            deleted += store.delete_prefix(prefix)
        state.status = "ABANDONED"
        run_store.save(state)
        abandoned.append(run_id)
    keep = set(published_runs(ctx)) | {ctx.run_id}
    prefix = results_prefix(ctx.spec.output.table)
    orphans = sorted({o.key[len(prefix) :].split("/", 1)[0] for o in store.list(prefix) if "/" in o.key[len(prefix) :]})
    for folder in orphans:
        if folder.startswith("run_id=") and folder.removeprefix("run_id=") not in keep:
            deleted += store.delete_prefix(f"{prefix}{folder}/")
    for own in ctx.layout.intermediate_prefixes:  # a reused run id starts clean
        deleted += store.delete_prefix(own)
    return {"abandoned_runs": abandoned, "objects_deleted": deleted}


def run_cleanup(ctx: RunContext) -> dict[str, Any]:
    if ctx.spec.output.keep_intermediates:
        return {"objects_deleted": 0, "kept": True}
    deleted = sum(ctx.ports.store.delete_prefix(p) for p in ctx.layout.intermediate_prefixes)
    return {"objects_deleted": deleted}
