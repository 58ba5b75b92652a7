from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from domain.context import RunContext
from domain.errors import SchemaMismatchError, VerificationError
from domain.manifest import BatchEntry, Manifest
from domain.ml.training import fit
from domain.services.aggregation import final_sql, pass_boundaries, verify_predictions
from domain.services.prediction import run_prediction_batch
from domain.spec import ModelSection
from tests.unit.fakes import FakeObjectStore, FakeRunStore, FakeSqlEngine
from tests.unit.ml_data import regression_table


def parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


@pytest.fixture
def store_with_batch(ctx: RunContext) -> FakeObjectStore:
    store = ctx.ports.store
    assert isinstance(store, FakeObjectStore)
    model, _ = fit(regression_table(600), "id", ModelSection(label="label"))
    store.put(ctx.layout.model_key, model.to_bytes())
    store.put(ctx.layout.manifest_key, Manifest(ctx.run_id, 10, (BatchEntry(0, 10), BatchEntry(1, 10))).to_bytes())
    batch = regression_table(10, seed=5, labelled=False)
    store.put(ctx.layout.scoring_batch_prefix(1) + "data_0.parquet", parquet(batch))
    return store


def test_a_batch_writes_one_file_at_its_fixed_key_and_marks_itself(
    ctx: RunContext, store_with_batch: FakeObjectStore
) -> None:
    run_store = ctx.ports.run_store
    assert isinstance(run_store, FakeRunStore)
    report = run_prediction_batch(ctx, 1)
    run_store.marks.clear()  # a task that wrote its file but died before marking it
    report_again = run_prediction_batch(ctx, 1)  # its retry overwrites, never adds
    assert report == report_again == {"batch": 1, "rows": 10}
    written = [k for k in store_with_batch.objects if "/predictions/" in k]
    assert written == [ctx.layout.prediction_key(1)]
    out = pq.read_table(io.BytesIO(store_with_batch.get(written[0])))
    assert out.column_names == ["id", "value", "value_lower", "value_upper", "value_confidence", "value_source"]
    assert run_store.batch_marks(ctx.run_id) == {1: 10}


def test_a_batch_file_dictionary_encodes_only_the_repeating_source(
    ctx: RunContext, store_with_batch: FakeObjectStore
) -> None:
    run_prediction_batch(ctx, 1)
    meta = pq.ParquetFile(io.BytesIO(store_with_batch.get(ctx.layout.prediction_key(1)))).metadata.row_group(0)
    encodings = {meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)}
    assert "RLE_DICTIONARY" in encodings["value_source"]
    # Unique ids and doubles: a dictionary is wasted work (3x the write time at 240k rows).
    assert not any("DICTIONARY" in e for name in ("id", "value") for e in encodings[name])


def test_a_batch_done_earlier_in_the_run_is_not_predicted_again(
    ctx: RunContext, store_with_batch: FakeObjectStore
) -> None:
    # On AWS a resumed execution starts every batch's task again.
    run_prediction_batch(ctx, 1)
    key = ctx.layout.prediction_key(1)
    store_with_batch.put(key, b"written earlier")
    assert run_prediction_batch(ctx, 1) == {"batch": 1, "rows": 10, "skipped": True}
    assert store_with_batch.get(key) == b"written earlier"
    # A mark whose file is gone (deleted by hand) does not count: the batch runs again.
    store_with_batch.delete_prefix(key.rsplit("/", 1)[0] + "/")
    assert run_prediction_batch(ctx, 1) == {"batch": 1, "rows": 10}
    assert pq.read_table(io.BytesIO(store_with_batch.get(key))).num_rows == 10


def test_a_batch_whose_schema_differs_from_the_model_card_is_refused(
    ctx: RunContext, store_with_batch: FakeObjectStore
) -> None:
    wrong = regression_table(10, seed=5, labelled=False).rename_columns(["id", "label", "x2", "group"])
    store_with_batch.put(ctx.layout.scoring_batch_prefix(1) + "data_0.parquet", parquet(wrong))
    with pytest.raises(SchemaMismatchError, match="batch 1"):
        run_prediction_batch(ctx, 1)
    assert not [k for k in store_with_batch.objects if "/predictions/" in k]


def test_a_batch_with_the_wrong_row_count_is_refused(ctx: RunContext, store_with_batch: FakeObjectStore) -> None:
    store_with_batch.put(
        ctx.layout.scoring_batch_prefix(1) + "data_0.parquet", parquet(regression_table(7, labelled=False))
    )
    with pytest.raises(VerificationError, match="7 scoring rows, the manifest expects 10"):
        run_prediction_batch(ctx, 1)


def _predictions(ctx: RunContext, counts: dict[int, int], extra_files: tuple[str, ...] = ()) -> Manifest:
    store = ctx.ports.store
    for batch in counts:
        store.put(ctx.layout.prediction_key(batch), b"parquet")
    for key in extra_files:
        store.put(key, b"parquet")
    engine = ctx.ports.engine
    assert isinstance(engine, FakeSqlEngine)
    engine.answer(r"GROUP BY batch", pa.table({"batch": list(counts), "n": list(counts.values())}))
    return Manifest(ctx.run_id, 10, (BatchEntry(0, 10), BatchEntry(1, 5)))


def test_complete_predictions_pass(ctx: RunContext) -> None:
    verify_predictions(ctx, _predictions(ctx, {0: 10, 1: 5}))


def test_a_missing_batch_blocks_publishing(ctx: RunContext) -> None:
    with pytest.raises(VerificationError, match="batch 1: expected one file"):
        verify_predictions(ctx, _predictions(ctx, {0: 10}))


def test_a_second_file_in_a_batch_blocks_publishing(ctx: RunContext) -> None:
    extra = ctx.layout.prediction_key(0).replace("part.parquet", "part-retry.parquet")
    with pytest.raises(VerificationError, match="batch 0: expected one file"):
        verify_predictions(ctx, _predictions(ctx, {0: 10, 1: 5}, (extra,)))


def test_a_short_batch_blocks_publishing(ctx: RunContext) -> None:
    with pytest.raises(VerificationError, match="batch 1: 4 predictions, the manifest expects 5"):
        verify_predictions(ctx, _predictions(ctx, {0: 10, 1: 4}))


def test_final_sql_keeps_labels_and_marks_every_source(ctx: RunContext) -> None:
    """Run on DuckDB over three tiny tables: a labelled record, a scored one, one without a
    prediction (no features row), and one whose prediction carries no value. The values only:
    the staged columns stay in staging (before: every row's `name` was copied here too)."""
    import duckdb

    card = {"model_version": "abc", "default_value": {"value": 30.0, "lower": 20.0, "upper": 40.0}}
    sql = final_sql(ctx, card, has_predictions=True)
    con = duckdb.connect()
    con.execute("CREATE TABLE s AS SELECT id, upper(id) AS name FROM (VALUES ('a'), ('b'), ('c'), ('d'), ('e')) t(id)")
    con.execute(
        "CREATE TABLE f AS SELECT * FROM (VALUES ('a', 41), ('b', NULL), ('d', NULL), ('e', NULL)) t(id, label)"
    )
    con.execute(
        "CREATE TABLE p AS SELECT * FROM (VALUES ('b', 33.0, 30.0, 36.0, 0.7, 'ML_PREDICTION'), "
        "('d', NULL, NULL, NULL, NULL, 'ML_PREDICTION'), ('e', 31.0, 21.0, 41.0, 0.0, 'DEFAULT')) "
        "t(id, value, value_lower, value_upper, value_confidence, value_source)"
    )
    bound = sql.replace("{{ staging }}", "s").replace("{{ features }}", "f").replace("{{ predictions }}", "p")
    rows = con.execute(f"SELECT * FROM ({bound}) ORDER BY id").fetchall()
    # In id ranges (< 'b', 'b' <= id < 'd', >= 'd'): the same rows, each exactly once.
    in_passes = final_sql(ctx, card, has_predictions=True, boundaries=["b", "d"])
    assert in_passes.count("UNION ALL\n(") == 2
    bound = in_passes.replace("{{ staging }}", "s").replace("{{ features }}", "f").replace("{{ predictions }}", "p")
    assert con.execute(f"SELECT * FROM ({bound}) ORDER BY id").fetchall() == rows
    assert rows == [
        ("a", 41.0, 41.0, 41.0, 1.0, "EXISTING", "run-1", "abc"),
        ("b", 33.0, 30.0, 36.0, 0.7, "ML_PREDICTION", "run-1", "abc"),
        ("c", 30.0, 20.0, 40.0, 0.0, "DEFAULT", "run-1", "abc"),
        ("d", 30.0, 20.0, 40.0, 0.0, "DEFAULT", "run-1", "abc"),
        ("e", 31.0, 21.0, 41.0, 0.0, "DEFAULT", "run-1", "abc"),  # the model's own fallback
    ]


def test_batch_files_without_an_extension_are_read_and_markers_skipped(
    ctx: RunContext, store_with_batch: FakeObjectStore
) -> None:
    """Athena's CTAS names its output files without `.parquet`; `_SUCCESS`-style markers are not data."""
    prefix = ctx.layout.scoring_batch_prefix(1)
    store_with_batch.put(prefix + "20261126_000001_00002_abcde", store_with_batch.get(prefix + "data_0.parquet"))
    store_with_batch.delete(prefix + "data_0.parquet")
    store_with_batch.put(prefix + "_SUCCESS", b"")
    store_with_batch.put(prefix, b"")  # an S3 folder marker
    assert run_prediction_batch(ctx, 1) == {"batch": 1, "rows": 10}


def test_pass_boundaries_split_evenly_at_batch_starts() -> None:
    first_ids = [f"id{k:02d}" for k in range(10)]  # ten batches, in batch order
    assert pass_boundaries(first_ids, staged_rows=12, pass_rows=5) == ["id03", "id07"]  # three passes
    assert pass_boundaries(first_ids, staged_rows=5, pass_rows=5) == []  # one pass is enough
    assert pass_boundaries(first_ids[:2], staged_rows=50, pass_rows=5) == ["id01"]  # at most one per batch
    assert pass_boundaries([3, 10, 20], staged_rows=30, pass_rows=10) == [10, 20]  # integer ids
    assert pass_boundaries([None, "b"], staged_rows=30, pass_rows=10) == []  # unknown: one pass
    assert pass_boundaries([], staged_rows=30, pass_rows=10) == []  # nothing scored
