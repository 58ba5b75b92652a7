from __future__ import annotations

import json
import math

import pyarrow as pa
import pytest

from domain.context import Ports, RunContext
from domain.errors import StageError
from domain.services.batching import plan_rows_per_batch, run_batch_planning, scoring_sql
from domain.services.features import run_features, scoring_rows_sql, training_rows_sql
from domain.spec import BatchSection, PipelineSpec
from tests.unit.fakes import FakeCatalog, FakeEventLog, FakeObjectStore, FakeRunStore, FakeSqlEngine


@pytest.mark.parametrize(
    ("rows", "per_batch", "max_batches", "expected"),
    [(0, 10, 5, 10), (15, 10, 5, 10), (40, 10, 5, 10), (45, 10, 5, 9), (51, 10, 5, 11), (1_000_000, 100, 100, 10_000)],
)
def test_rows_per_batch_stays_within_max_batches(rows: int, per_batch: int, max_batches: int, expected: int) -> None:
    spec = BatchSection(rows_per_batch=per_batch, max_batches=max_batches, max_concurrency=2)
    assert plan_rows_per_batch(rows, spec) == expected


@pytest.mark.parametrize(
    ("rows", "per_batch", "concurrency", "batches"),
    [
        (624_522, 250_000, 2, 4),  # 3 batches would leave a slot idle in the last wave
        (6_244_731, 250_000, 2, 26),
        (25, 10, 2, 4),
        (25, 10, 1, 3),  # one slot: the spec's size as it is
        (3, 10, 4, 1),  # one wave: nothing to balance
        (5, 1, 4, 5),  # nor more batches than rows
    ],
)
def test_batches_fill_every_wave_evenly(rows: int, per_batch: int, concurrency: int, batches: int) -> None:
    spec = BatchSection(rows_per_batch=per_batch, max_concurrency=concurrency)
    size = plan_rows_per_batch(rows, spec)
    assert size <= per_batch
    assert math.ceil(rows / size) == batches
    assert rows - size * (batches - 1) > 0  # the last batch is not empty


def test_batch_count_comes_from_the_data(ctx: RunContext) -> None:
    engine = ctx.ports.engine
    assert isinstance(engine, FakeSqlEngine)
    engine.answer(r"count\(\*\) AS n FROM .* IS NULL", pa.table({"n": [25]}))
    engine.answer(r"GROUP BY batch", pa.table({"batch": ["00000", "00001", "00002", "00003"], "n": [7, 7, 7, 4]}))
    report = run_batch_planning(ctx)
    # The fake engine writes no features files, so there are no footers to slice: a copy.
    assert report == {"scoring_rows": 25, "batches": 4, "rows_per_batch": 7, "batch_rows": "scoring copy"}
    store = ctx.ports.store
    assert isinstance(store, FakeObjectStore)
    manifest = json.loads(store.get(ctx.layout.manifest_key))
    assert [b["rows"] for b in manifest["batches"]] == [7, 7, 7, 4]
    assert json.loads(store.get(ctx.layout.batch_items_key)) == manifest["batches"]
    ((target, sql),) = [(t, s) for t, s in engine.materialized]
    assert target.partitioned_by == "batch" and sql == scoring_sql("id", "label", 4)  # 4 buckets of ~7 rows


def test_a_layout_that_loses_rows_is_refused(ctx: RunContext) -> None:
    engine = ctx.ports.engine
    assert isinstance(engine, FakeSqlEngine)
    engine.answer(r"count\(\*\) AS n FROM .* IS NULL", pa.table({"n": [25]}))
    engine.answer(r"GROUP BY batch", pa.table({"batch": ["00000", "00001"], "n": [10, 10]}))
    with pytest.raises(StageError, match="expected 25 rows in at most 4"):
        run_batch_planning(ctx)


def test_batches_are_hash_buckets_of_the_id_not_a_sort_of_all_ids() -> None:
    sql = scoring_sql("id", "label", 900)
    assert "row_number" not in sql and "ORDER BY" not in sql
    assert "mod(bitwise_and(from_big_endian_64(xxhash64(to_utf8(CAST(f.id AS varchar))))" in sql
    assert sql.endswith("WHERE f.label IS NULL")


def test_training_and_scoring_rows_are_two_filters_of_one_features_table(ctx: RunContext) -> None:
    train, score = training_rows_sql("label"), scoring_rows_sql("label")
    assert train.replace("IS NOT NULL", "IS NULL") == score
    assert "{{ features }}" in train  # the materialised output of the ONE features SELECT


def _features_engine(ctx: RunContext, n: int, ids: int) -> FakeSqlEngine:
    engine = ctx.ports.engine
    assert isinstance(engine, FakeSqlEngine)
    engine.answer(r"FROM \{\{ features \}\} LIMIT 0", pa.table({"id": ["a"], "label": [1.0], "x": [1.0]}).slice(0, 0))
    engine.answer(r"AS ids, count\(label\)", pa.table({"n": [n], "ids": [ids], "labelled": [4]}))
    engine.answer(r"FROM \{\{ staging \}\}", pa.table({"n": [12]}))
    return engine


def test_features_report_labelled_scoring_and_missing_rows(ctx: RunContext) -> None:
    _features_engine(ctx, 10, 10)
    report = run_features(ctx)
    assert (report["labelled_rows"], report["scoring_rows"], report["rows_without_features"]) == (4, 6, 2)
    assert report["feature_columns"] == ["x"]


def test_features_with_duplicate_ids_are_refused(spec: PipelineSpec) -> None:
    joined = "SELECT s.id, s.label, t.x FROM {{ staging }} s JOIN {{ staging }} t ON s.id = t.id"
    ctx = RunContext(
        spec=spec.model_copy(update={"sql": spec.sql.model_copy(update={"features_sql": joined})}),
        run_id="run-1",
        ports=Ports(FakeSqlEngine(), FakeObjectStore(), FakeCatalog(), FakeRunStore(), FakeEventLog()),
    )
    engine = _features_engine(ctx, 10, 9)
    with pytest.raises(StageError, match="distinct ids"):
        run_features(ctx)
    assert any("count(DISTINCT id)" in sql for sql in engine.queries)


def test_features_that_keep_the_staged_ids_are_not_counted_again(ctx: RunContext) -> None:
    """The SELECT keeps staging's distinct ids row by row (domain/sql_lineage.py): counting
    them again (0.9 s at 10M rows) could not find a repeat."""
    engine = _features_engine(ctx, 10, 10)
    run_features(ctx)
    assert not any("DISTINCT" in sql for sql in engine.queries)
