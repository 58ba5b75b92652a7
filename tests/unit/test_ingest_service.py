"""Ingest in bounded items: planned once per run, each item recorded done, finished only whole."""

from __future__ import annotations

import json

import pytest

from domain.context import RunContext
from domain.errors import DataQualityError, StageError
from domain.services import ingest
from tests.unit.fakes import FakeSqlEngine


def fake(ctx: RunContext, *, lines: int, items: int) -> FakeSqlEngine:
    engine = ctx.ports.engine
    assert isinstance(engine, FakeSqlEngine)
    engine.lines, engine.items = lines, items
    return engine


def test_the_plan_is_made_once_and_read_back(ctx: RunContext) -> None:
    engine = fake(ctx, lines=10, items=3)
    first = ingest.plan(ctx)
    assert ingest.plan(ctx) == first and engine.plans == 1
    assert [item.index for item in first] == [0, 1, 2]


def test_an_empty_plan_is_an_error_naming_the_source(ctx: RunContext) -> None:
    fake(ctx, lines=0, items=0)
    with pytest.raises(DataQualityError, match="the source /data/in holds no files"):
        ingest.plan(ctx)


def test_done_items_are_not_ingested_again_and_the_fan_out_lists_the_rest(ctx: RunContext) -> None:
    engine = fake(ctx, lines=10, items=4)
    assert ingest.ingest_one(ctx, 2) == {"item": 2, "lines": 2}
    assert ingest.done(ctx) == {2: 2}
    fan_out = ingest.fan_out(ctx, round_number=1)
    assert fan_out.count == 3
    assert json.loads(ctx.ports.store.get(fan_out.key)) == [{"item": 0}, {"item": 1}, {"item": 3}]
    assert [item.index for item in ingest.pending(ctx, ingest.plan(ctx))] == [0, 1, 3]
    assert len(engine.materialized) == 1


def test_finishing_with_an_item_missing_fails_and_may_be_retried(ctx: RunContext) -> None:
    fake(ctx, lines=10, items=2)
    items = ingest.plan(ctx)
    ingest.ingest_one(ctx, 0)
    with pytest.raises(StageError, match="1 ingest item") as failed:
        ingest.finish(ctx, items, 0.0)
    assert failed.value.transient
    ingest.ingest_one(ctx, 1)
    stats = ingest.finish(ctx, items, 1.5)
    assert (stats.files, stats.lines, stats.seconds) == (2, 10, 1.5)


def test_an_item_the_plan_does_not_hold_is_refused(ctx: RunContext) -> None:
    fake(ctx, lines=10, items=2)
    with pytest.raises(StageError, match="no item 7"):
        ingest.ingest_one(ctx, 7)


def test_two_records_of_one_item_that_disagree_are_an_error(ctx: RunContext) -> None:
    fake(ctx, lines=10, items=2)
    ingest.ingest_one(ctx, 0)
    ctx.ports.store.put(f"{ctx.layout.ingest_done_prefix}item-000000-lines-99.json", b"{}")
    with pytest.raises(StageError, match="recorded 5 and 99 lines"):
        ingest.done(ctx)
