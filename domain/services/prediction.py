"""Prediction of one batch (a container task): its rows in, one Parquet file out.

The output key is fixed by (run, batch) and written atomically, so a retried task
replaces its own file instead of adding a second one.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from domain.context import RunContext
from domain.errors import SchemaMismatchError, VerificationError
from domain.layout import is_data_key
from domain.manifest import Manifest, slices_from_bytes
from domain.ml.model import TrainedModel
from domain.services.batch_slices import read_slices
from domain.services.batching import load_manifest


def read_batch(ctx: RunContext, manifest: Manifest, batch: int) -> pa.Table:
    """The batch's rows: slices of the features table's row groups, or its scoring partition."""
    store = ctx.ports.store
    if manifest.sliced:
        key = ctx.layout.batch_slices_key(batch)
        try:
            slices = slices_from_bytes(store.get(key))
        except KeyError:
            raise VerificationError(
                f"batch {batch}: the manifest says its rows are slices of the features table, but "
                f"{store.uri(key)} is missing; run batch planning again (batchml run --resume)"
            ) from None
        return read_slices(store, slices, ctx.label, where=f"batch {batch}")
    objects = [o for o in store.list(ctx.layout.scoring_batch_prefix(batch)) if is_data_key(o.key)]
    tables = [pq.read_table(io.BytesIO(store.get(o.key))) for o in objects]
    if not tables:
        raise VerificationError(
            f"batch {batch}: no scoring files under {store.uri(ctx.layout.scoring_batch_prefix(batch))}"
        )
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except pa.ArrowInvalid as exc:
        raise SchemaMismatchError(f"batch {batch}: its files disagree on the schema: {exc}") from exc


def run_prediction_batch(ctx: RunContext, batch: int, elapsed: Callable[[], float] | None = None) -> dict[str, Any]:
    layout, store = ctx.layout, ctx.ports.store
    marked = ctx.ports.run_store.batch_mark(ctx.run_id, batch)
    if marked is not None and store.exists(layout.prediction_key(batch)):
        # Done earlier in this run: on AWS a resumed execution's Map starts every batch's task
        # again; the local orchestrator does not even start it.
        return {"batch": batch, "rows": marked, "skipped": True}
    manifest = load_manifest(ctx)
    expected = manifest.entry(batch).rows
    model = TrainedModel.from_bytes(store.get(layout.model_key))
    table = read_batch(ctx, manifest, batch)
    model.features.check(table.schema, {ctx.id_column, ctx.label, "batch"}, where=f"batch {batch}")
    if table.num_rows != expected:
        raise VerificationError(f"batch {batch}: {table.num_rows} scoring rows, the manifest expects {expected}")
    predictions = model.predict(table)
    columns = {ctx.id_column: table.column(ctx.id_column)}
    columns.update({name: predictions.column(name) for name in predictions.schema.names})
    out = pa.table(columns)
    sink = io.BytesIO()
    # Dictionary encoding only where values repeat (value_source: one value per batch): tried on
    # every column, pyarrow spent it on the unique ids and the doubles and gave up; 18 ms
    # instead of 51 ms per 240k-row batch, and a smaller file (7.0 MB against 7.9; measured).
    pq.write_table(out, sink, compression="snappy", use_dictionary=["value_source"])
    store.put(layout.prediction_key(batch), sink.getvalue())
    ctx.ports.run_store.mark_batch(ctx.run_id, batch, out.num_rows, elapsed() if elapsed else None)
    return {"batch": batch, "rows": out.num_rows}
