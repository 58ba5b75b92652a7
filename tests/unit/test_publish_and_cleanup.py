from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

import pyarrow as pa
import pytest

from domain.context import RunContext
from domain.errors import VerificationError
from domain.layout import RunLayout, published_history_key, results_location
from domain.ports.catalog import TableVersion
from domain.ports.sql_engine import TableRef
from domain.run_state import RunState
from domain.services.cleanup import run_cleanup, run_pre_cleanup
from domain.services.publication import protected_locations, published_runs, read_publication, shown_run, switch_to
from domain.services.publishing import rollback, run_publish
from tests.unit.fakes import FakeCatalog, FakeObjectStore, FakeSqlEngine


def _publishable(ctx: RunContext) -> None:
    engine = ctx.ports.engine
    assert isinstance(engine, FakeSqlEngine)
    engine.answer(r"LIMIT 0", pa.table({"id": pa.array([], pa.string())}))


def test_publish_points_the_table_at_the_run_and_keeps_the_last_n(ctx: RunContext) -> None:
    _publishable(ctx)
    store = ctx.ports.store
    assert isinstance(store, FakeObjectStore)
    table = ctx.spec.output.table
    old = ["run-a", "run-b", "run-c"]
    for run in old:
        store.put(results_location(table, run) + "part-0.parquet", b"x")
    store.put(published_history_key(table), json.dumps({"runs": old}).encode())
    report = run_publish(ctx)
    catalog = ctx.ports.catalog
    assert isinstance(catalog, FakeCatalog)
    assert catalog.location(table) == results_location(table, "run-1")
    assert report["retired_runs"] == ["run-a"] and report["kept_runs"] == ["run-b", "run-c", "run-1"]
    assert not store.list(results_location(table, "run-a"))
    assert store.list(results_location(table, "run-b"))
    engine = ctx.ports.engine
    assert isinstance(engine, FakeSqlEngine)
    # Its catalog entries too: its values and the staging table they were shown joined to.
    assert engine.forgotten == [TableRef(table, results_location(table, "run-a")), RunLayout("run-a", table).staging]


def _publish_with_staging(ctx: RunContext) -> None:
    _publishable(ctx)
    for prefix in [*ctx.layout.intermediate_prefixes, ctx.layout.results.location]:
        ctx.ports.store.put(prefix + "part.parquet", b"x")
    run_publish(ctx)


def test_the_results_are_the_values_joined_to_the_runs_staging_table(ctx: RunContext) -> None:
    """Before: aggregation copied every staged record into the results table and cleanup then
    deleted staging; now the results table is a join of the two, and staging is published data."""
    _publish_with_staging(ctx)
    table = ctx.spec.output.table
    shown = read_publication(ctx.ports.store, table).shown[0]
    assert shown.location == ctx.layout.results.location
    assert shown.join is not None and (shown.join.key, shown.join.base_location) == ("id", ctx.layout.staging.location)
    report = run_cleanup(ctx)
    store = ctx.ports.store
    assert store.list(ctx.layout.staging.location) and store.list(ctx.layout.results.location)
    assert not store.list(ctx.layout.features.location)
    assert report["objects_deleted"] == len(ctx.layout.intermediate_prefixes) - 1


def test_no_run_deletes_the_staging_table_of_a_kept_run(ctx: RunContext) -> None:
    """A run that failed after its publish (in cleanup), then rolled back from: its staging is
    kept as long as the run is, though it is neither shown nor finished."""
    table = ctx.spec.output.table
    first, second = replace(ctx, run_id="run-a"), replace(ctx, run_id="run-b")
    _publish_with_staging(first)
    ctx.ports.run_store.save(RunState("run-a", {}, 0.0, status="FAILED"))
    _publish_with_staging(second)
    rollback(ctx.ports, table)  # shows run-a again, then run-b is kept but not shown
    run_pre_cleanup(replace(ctx, run_id="run-c"))
    assert ctx.ports.store.list(first.layout.staging.location) and ctx.ports.store.list(second.layout.staging.location)
    assert not ctx.ports.store.list(first.layout.features.location)  # the rest of the failed run goes


def test_the_pointer_keeps_how_a_version_joins(ctx: RunContext) -> None:
    _publish_with_staging(ctx)
    table = ctx.spec.output.table
    raw = json.loads(ctx.ports.store.get(published_history_key(table)))
    assert raw["tables"]["run-1"][0]["join"]["base_location"] == ctx.layout.staging.location
    assert read_publication(ctx.ports.store, table).tables["run-1"][0].join is not None
    raw["tables"]["run-1"][0].pop("join")  # as a batchml before the join wrote it: one table
    ctx.ports.store.put(published_history_key(table), json.dumps(raw).encode())
    assert read_publication(ctx.ports.store, table).tables["run-1"][0].join is None


def test_pre_cleanup_abandons_unfinished_runs_but_never_touches_published_results(ctx: RunContext) -> None:
    store = ctx.ports.store
    assert isinstance(store, FakeObjectStore)
    table = ctx.spec.output.table
    run_store = ctx.ports.run_store
    for run_id, status in (("old-failed", "FAILED"), ("old-ok", "SUCCEEDED")):
        run_store.save(RunState(run_id, {}, 0.0, status=status))  # type: ignore[arg-type]
        for prefix in RunLayout(run_id, table).intermediate_prefixes:
            store.put(prefix + "part.parquet", b"x")
    store.put(results_location(table, "old-ok") + "part.parquet", b"published")
    store.put(results_location(table, "old-failed") + "part.parquet", b"never published")
    store.put(published_history_key(table), json.dumps({"runs": ["old-ok"]}).encode())
    report = run_pre_cleanup(ctx)
    assert report["abandoned_runs"] == ["old-failed"]
    assert run_store.load("old-failed").status == "ABANDONED"  # type: ignore[union-attr]
    assert not store.list("runs/old-failed/staging/")
    assert store.list("runs/old-ok/staging/")  # a finished run's leftovers are not this stage's business
    assert store.exists(results_location(table, "old-ok") + "part.parquet")
    assert not store.exists(results_location(table, "old-failed") + "part.parquet")
    # What the engine registered for the deleted files goes with them; nothing of old-ok's does.
    engine = ctx.ports.engine
    assert isinstance(engine, FakeSqlEngine)
    forgotten = {t.location for t in engine.forgotten}
    assert set(RunLayout("old-failed", table).intermediate_prefixes) <= forgotten
    assert results_location(table, "old-failed") in forgotten
    assert not any("old-ok" in location for location in forgotten)
    assert report["tables_dropped"] == len(engine.forgotten)


def test_cleanup_removes_intermediates_and_keeps_the_record(ctx: RunContext) -> None:
    store = ctx.ports.store
    for prefix in ctx.layout.intermediate_prefixes:
        store.put(prefix + "part.parquet", b"x")
    store.put(ctx.layout.model_key, b"model")
    store.put(ctx.layout.rejects.location + "part.parquet", b"rejects")
    report = run_cleanup(ctx)
    assert report["objects_deleted"] == len(ctx.layout.intermediate_prefixes)
    assert store.exists(ctx.layout.model_key)
    assert store.exists(ctx.layout.rejects.location + "part.parquet")
    engine = ctx.ports.engine
    assert isinstance(engine, FakeSqlEngine)
    assert engine.forgotten == ctx.layout.intermediate_tables  # the rejects stay readable
    assert report["tables_dropped"] == len(ctx.layout.intermediate_tables)


def test_rollback_steps_back_in_publish_order_down_to_the_oldest_kept_run(ctx: RunContext) -> None:
    # Before: each rollback moved the restored run to the end of the history, so a second
    # rollback went forward again (c, b, c, ...) and run-a was out of reach without --to.
    _publishable(ctx)
    store = ctx.ports.store
    table = ctx.spec.output.table
    store.put(published_history_key(table), json.dumps({"runs": ["run-a", "run-b", "run-c"]}).encode())
    shown = [rollback(ctx.ports, table)["run_id"], rollback(ctx.ports, table)["run_id"]]
    assert shown == ["run-b", "run-a"]
    assert published_runs(ctx) == ["run-a", "run-b", "run-c"] and shown_run(ctx) == "run-a"
    with pytest.raises(VerificationError, match="shows run-a and it is the oldest kept one"):
        rollback(ctx.ports, table)
    assert rollback(ctx.ports, table, "run-c")["run_id"] == "run-c" and shown_run(ctx) == "run-c"


def test_a_new_publish_after_a_rollback_is_shown_and_keeps_the_order(ctx: RunContext) -> None:
    _publishable(ctx)
    store = ctx.ports.store
    table = ctx.spec.output.table
    store.put(published_history_key(table), json.dumps({"runs": ["run-a", "run-b"], "shown": "run-a"}).encode())
    run_publish(ctx)
    assert published_runs(ctx) == ["run-a", "run-b", "run-1"] and shown_run(ctx) == "run-1"


class PointerCheckingCatalog(FakeCatalog):
    """Records, at each switch, which run the publication pointer named by then."""

    def __init__(self, store: FakeObjectStore, table: str) -> None:
        super().__init__()
        self.store, self.table = store, table
        self.pointer_at_switch: list[list[str]] = []

    def publish_together(self, tables: Sequence[TableVersion]) -> None:
        history = json.loads(self.store.get(published_history_key(self.table)))["runs"]
        self.pointer_at_switch.append(history)
        super().publish_together(tables)


def test_publish_commits_the_pointer_first_then_switches_both_tables_in_one_call(ctx: RunContext) -> None:
    _publishable(ctx)
    store = ctx.ports.store
    assert isinstance(store, FakeObjectStore)
    catalog = PointerCheckingCatalog(store, ctx.spec.output.table)
    ctx = replace(ctx, ports=replace(ctx.ports, catalog=catalog))
    run_publish(ctx)
    assert catalog.pointer_at_switch == [["run-1"]]  # one switch, after the pointer named the run
    assert catalog.published == [
        ("results", results_location("results", "run-1")),
        ("results_rejects", "runs/run-1/rejects/"),
    ]


def test_rollback_switches_both_tables_from_the_pointer_without_a_query(ctx: RunContext) -> None:
    _publishable(ctx)
    for run in ("run-0", "run-1"):
        run_publish(replace(ctx, run_id=run))
    engine = ctx.ports.engine
    assert isinstance(engine, FakeSqlEngine)
    engine.queries.clear()
    rollback(ctx.ports, ctx.spec.output.table)
    assert engine.queries == []
    assert ctx.ports.catalog.location("results") == results_location("results", "run-0")
    assert ctx.ports.catalog.location("results_rejects") == "runs/run-0/rejects/"
    assert published_runs(ctx) == ["run-0", "run-1"] and shown_run(ctx) == "run-0"


def test_pre_cleanup_finishes_a_cut_publish_and_keeps_what_the_catalog_shows(ctx: RunContext) -> None:
    """A publish killed after its commit point (keep 1): the pointer names run-new, the catalog
    still shows run-old, whose files are not in the pointer any more."""
    _publishable(ctx)
    store, table = ctx.ports.store, ctx.spec.output.table
    old, new = replace(ctx, run_id="run-old"), replace(ctx, run_id="run-new")
    for run in (old, new):
        store.put(run.layout.results.location + "part.parquet", b"x")
    run_publish(old)
    shown_before = read_publication(store, table).shown
    switch_to(new.ports, table, "run-new", ["run-new"], fresh=True)  # the commit point of run-new's publish ...
    ctx.ports.catalog.publish_together(shown_before)  # ... and the catalog as if the switch never came
    assert protected_locations(ctx.ports, table) >= {old.layout.results.location, new.layout.results.location}
    report = run_pre_cleanup(ctx)
    assert report["tables_rolled_forward"] == [table, f"{table}_rejects"]
    assert ctx.ports.catalog.location(table) == new.layout.results.location
    assert ctx.ports.catalog.location(f"{table}_rejects") == new.layout.rejects.location
    assert store.list(new.layout.results.location)
    assert not store.list(old.layout.results.location)  # no longer shown nor kept: gone


def test_no_cleanup_deletes_a_location_the_catalog_points_at(ctx: RunContext) -> None:
    store, table = ctx.ports.store, ctx.spec.output.table
    for prefix in ctx.layout.intermediate_prefixes:
        store.put(prefix + "part.parquet", b"x")
    # Say a hand-made table shows this run's staging: cleanup leaves it, and the rest goes.
    ctx.ports.catalog.publish(table, pa.schema([]), ctx.layout.staging.location)
    run_cleanup(ctx)
    assert store.list(ctx.layout.staging.location)
    assert not store.list(ctx.layout.features.location)
