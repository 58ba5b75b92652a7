"""Ingest, staging's first part: the source's lines into the raw table, in bounded items.

The plan cuts the source into items (whole files, or byte ranges of large plain files) and is
written once per run, so a resumed or re-invoked stage sees the same items. Each ingested item
leaves a record whose key holds its line count: one listing tells which items are done and how
many lines each wrote, however many there are. Locally the items run in one call; on AWS each
runs in its own Lambda invocation of a Map state, and the staging stage finishes once all are done.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from domain.context import RunContext
from domain.errors import DataQualityError, StageError
from domain.fan_out import FanOut, write_fan_out
from domain.ports.sql_engine import IngestItem, IngestStats

MB = 1 << 20
_DONE = re.compile(r"item-(\d+)-lines-(\d+)\.json$")


def plan(ctx: RunContext) -> list[IngestItem]:
    """The run's ingest items: planned on first use, then read back (the plan never changes
    within a run, so items already ingested stay valid)."""
    store, key = ctx.ports.store, ctx.layout.ingest_items_key
    if store.exists(key):
        return [IngestItem.from_json(item) for item in json.loads(store.get(key))["items"]]
    items = ctx.ports.engine.plan_ingest(ctx.spec.source.path, ctx.spec.source.ingest_item_mb * MB)
    if not items:
        raise DataQualityError(f"the source {ctx.spec.source.path} holds no files")
    for prefix in (ctx.layout.raw.location, ctx.layout.ingest_done_prefix):  # nothing from before this plan
        store.delete_prefix(prefix)
    store.put(key, json.dumps({"items": [item.to_json() for item in items]}).encode())
    return items


def done(ctx: RunContext) -> dict[int, int]:
    """Lines written per ingested item, from one listing of the done records."""
    counts: dict[int, int] = {}
    for obj in ctx.ports.store.list(ctx.layout.ingest_done_prefix):
        match = _DONE.search(obj.key)
        if match is None:
            continue
        index, lines = int(match.group(1)), int(match.group(2))
        if counts.setdefault(index, lines) != lines:
            raise StageError("staging", f"ingest item {index} recorded {counts[index]} and {lines} lines")
    return counts


def pending(ctx: RunContext, items: Sequence[IngestItem]) -> list[IngestItem]:
    finished = done(ctx)
    return [item for item in items if item.index not in finished]


def ingest(ctx: RunContext, items: Sequence[IngestItem]) -> int:
    """Ingest `items` and record each one done; returns the lines written."""
    counts = ctx.ports.engine.ingest_items(items, ctx.layout.raw)
    for item, lines in zip(items, counts, strict=True):
        record = {"index": item.index, "source_file": item.source_file, "lines": lines}
        ctx.ports.store.put(
            f"{ctx.layout.ingest_done_prefix}item-{item.index:06d}-lines-{lines}.json", json.dumps(record).encode()
        )
    return sum(counts)


def ingest_one(ctx: RunContext, index: int) -> dict[str, int]:
    """One item of the fan-out (a Lambda invocation on AWS); ingesting it again is harmless."""
    items = {item.index: item for item in plan(ctx)}
    if index not in items:
        raise StageError("staging", f"the ingest plan has no item {index} (it has {len(items)})")
    return {"item": index, "lines": ingest(ctx, [items[index]])}


def fan_out(ctx: RunContext, round_number: int) -> FanOut:
    """The items not yet ingested, written for a Map state to read."""
    todo = pending(ctx, plan(ctx))
    return write_fan_out(
        ctx.ports.store, ctx.layout.ingest_pending_key(round_number), [{"item": i.index} for i in todo]
    )


def finish(ctx: RunContext, items: Sequence[IngestItem], seconds: float) -> IngestStats:
    """The raw table, whole and readable, once every item is ingested."""
    counts = done(ctx)
    missing = [item.index for item in items if item.index not in counts]
    if missing:
        raise StageError(
            "staging", f"{len(missing)} ingest item(s) are not done, the first {missing[0]}", transient=True
        )
    lines = [counts[item.index] for item in items]
    ctx.ports.engine.finish_ingest(items, lines, ctx.layout.raw)
    return IngestStats(
        files=len({item.source_file for item in items}),
        lines=sum(lines),
        bytes_read=sum(item.size for item in items),
        seconds=seconds,
    )
