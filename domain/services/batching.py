"""Batch planning: the row count decides the number of batches; the manifest says where each
batch's rows are.

Where the features table's footers count the rows to score per row group, a batch is a list of
slices of those row groups (services/batch_slices.py): no copy, a task reads only its groups.
Otherwise the scoring rows are copied, partitioned by batch, so a task still reads exactly its
own rows and nothing else (no scan of the whole table per task). There a row's batch is a hash
of its id modulo the number of batches: no sort of all the ids (a global row_number over
hundreds of millions of rows is what a distributed engine does worst), the same batch for the
same id however the engine splits its work, and batches within a few percent of each other
in size (the manifest records each one's exact count)."""

from __future__ import annotations

import math
from typing import Any

from domain.context import RunContext
from domain.errors import StageError
from domain.fan_out import FanOut, write_fan_out
from domain.layout import BATCH_DIGITS
from domain.manifest import BatchEntry, Manifest
from domain.services.batch_slices import plan_slices, write_slices
from domain.spec import BatchSection


def plan_rows_per_batch(rows: int, batches: BatchSection) -> int:
    """Rows per batch: at most the spec's figure (raised if needed to stay within max_batches),
    shared evenly over a number of batches that fills every wave of the fan-out.

    With max_concurrency tasks at a time, 7 batches on 2 slots run in 4 waves, the last with one
    slot idle; 8 smaller ones keep both busy to the end. When there is more than one wave, the
    count is rounded up to a multiple of max_concurrency (within max_batches) and the rows
    divided evenly among the batches.
    """
    per_batch = batches.rows_per_batch
    if rows > per_batch * batches.max_batches:
        per_batch = math.ceil(rows / batches.max_batches)
    if rows == 0:
        return per_batch
    count = math.ceil(rows / per_batch)
    if count <= batches.max_concurrency:
        return per_batch  # one wave: every batch runs at once already
    waves = math.ceil(count / batches.max_concurrency)
    count = min(waves * batches.max_concurrency, batches.max_batches, rows)
    return math.ceil(rows / count)


def hash_bucket(column: str, buckets: int) -> str:
    """`column`'s bucket in [0, buckets): Trino's 64-bit xxhash of its text, made non-negative.
    (Locally the dialect bridge puts DuckDB's own hash in its place: adapters/local/dialect.py.)"""
    hashed = f"from_big_endian_64(xxhash64(to_utf8(CAST({column} AS varchar))))"
    return f"mod(bitwise_and({hashed}, 9223372036854775807), {int(buckets)})"


def scoring_sql(id_column: str, label: str, batches: int) -> str:
    """The scoring rows, each with its batch (zero-padded, the partition folder's name)."""
    return (
        f"SELECT f.*, lpad(CAST({hash_bucket(f'f.{id_column}', batches)} AS varchar), {BATCH_DIGITS}, '0') AS batch "
        f"FROM {{{{ features }}}} f WHERE f.{label} IS NULL"
    )


def run_batch_planning(ctx: RunContext) -> dict[str, Any]:
    layout, engine = ctx.layout, ctx.ports.engine
    features = {"features": layout.features}
    rows = int(
        engine.query(
            f"SELECT count(*) AS n FROM {{{{ features }}}} WHERE {ctx.label} IS NULL",
            features,
            sql_name="batch planning",
        ).to_pylist()[0]["n"]
    )
    per_batch = plan_rows_per_batch(rows, ctx.spec.batches)
    planned = math.ceil(rows / per_batch) if rows else 0
    sliced = plan_slices(ctx.ports.store, layout.features.location, ctx.label, rows, planned) if rows else None
    if sliced is not None:
        write_slices(ctx.ports.store, layout.batch_slices_key, sliced)
        entries = [BatchEntry(b, sum(s.scoring_rows for s in slices)) for b, slices in enumerate(sliced)]
    else:
        entries = _copy_scoring_rows(ctx, planned) if rows else []
    manifest = Manifest(ctx.run_id, per_batch, tuple(entries), sliced=sliced is not None)
    # A bucket no id hashed to is no batch at all (possible only for tiny data).
    if manifest.total_rows != rows or len(entries) > planned or any(e.rows == 0 for e in entries):
        raise StageError(
            "batch_planning",
            f"the batch layout holds {manifest.total_rows} rows in {len(entries)} batches; "
            f"expected {rows} rows in at most {planned}",
        )
    ctx.ports.store.put(layout.batch_items_key, manifest.items_bytes())
    ctx.ports.store.put(layout.manifest_key, manifest.to_bytes())
    largest = max((e.rows for e in entries), default=0)
    return {
        "scoring_rows": rows,
        "batches": len(entries),
        "rows_per_batch": largest,
        # How tasks find their rows: slices of the features table, or a copy partitioned by batch.
        "batch_rows": "features row groups" if sliced is not None else "scoring copy",
    }


def _copy_scoring_rows(ctx: RunContext, batches: int) -> list[BatchEntry]:
    """The rows to score copied into the scoring table, partitioned by batch; its batches."""
    layout, engine = ctx.layout, ctx.ports.engine
    engine.materialize(
        layout.scoring,
        scoring_sql(ctx.id_column, ctx.label, batches),
        {"features": layout.features},
        sql_name="batch planning",
    )
    counts = engine.query(
        "SELECT batch, count(*) AS n FROM {{ scoring }} GROUP BY batch ORDER BY batch",
        {"scoring": layout.scoring},
        sql_name="batch planning",
    ).to_pylist()
    return [BatchEntry(int(c["batch"]), int(c["n"])) for c in counts]


def load_manifest(ctx: RunContext) -> Manifest:
    return Manifest.from_bytes(ctx.ports.store.get(ctx.layout.manifest_key))


def pending_fan_out(ctx: RunContext, round_number: int) -> FanOut:
    """The batches without their marker, for the prediction Map: all of them on a first run,
    only the unfinished ones when a run resumes (a finished batch must not start a task again)."""
    marks = ctx.ports.run_store.batch_marks(ctx.run_id)
    todo = [{"batch": e.batch, "rows": e.rows} for e in load_manifest(ctx).batches if marks.get(e.batch) != e.rows]
    return write_fan_out(ctx.ports.store, ctx.layout.batch_pending_key(round_number), todo)
