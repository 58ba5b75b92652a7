"""Batches as slices of the features table's row groups: planned from footers alone, read
back as exactly the rows to score, and a copy whenever the footers cannot say."""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from domain.context import RunContext
from domain.errors import VerificationError
from domain.manifest import Manifest, slices_from_bytes
from domain.ml.training import fit
from domain.parquet_ranges import RangedFile, footer_metadata, row_group_span
from domain.services import batch_slices
from domain.services.batch_slices import even_shares, plan_slices, read_slices
from domain.services.batching import run_batch_planning
from domain.services.prediction import read_batch, run_prediction_batch
from domain.spec import ModelSection
from tests.unit.fakes import FakeObjectStore, FakeSqlEngine


def features_file(first_id: int, rows: int, *, group_rows: int, statistics: bool = True) -> bytes:
    ids = list(range(first_id, first_id + rows))
    table = pa.table(
        {
            "id": [str(i) for i in ids],
            "label": [None if i % 3 else float(i) for i in ids],  # two rows in three to score
            "x": [i * 0.5 for i in ids],
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=group_rows, write_statistics=statistics)
    return sink.getvalue()


def scoring_ids(first_id: int, rows: int) -> list[str]:
    return [str(i) for i in range(first_id, first_id + rows) if i % 3]


@pytest.fixture
def store(ctx: RunContext) -> FakeObjectStore:
    store = ctx.ports.store
    assert isinstance(store, FakeObjectStore)
    prefix = ctx.layout.features.location
    store.put(prefix + "data_0.parquet", features_file(0, 100, group_rows=30))
    store.put(prefix + "data_1.parquet", features_file(100, 50, group_rows=50))
    store.put(prefix + "_SUCCESS", b"")  # not data: ignored
    return store


def scoring_rows(engine: FakeSqlEngine, rows: int) -> None:
    engine.answer(r"count\(\*\) AS n FROM .* IS NULL", pa.table({"n": [rows]}))


def test_even_shares_differ_by_one_row_at_most() -> None:
    assert even_shares(10, 3) == [4, 3, 3]
    assert even_shares(6, 3) == [2, 2, 2]


def test_batches_are_slices_of_the_row_groups_holding_exactly_the_rows_to_score(
    ctx: RunContext, store: FakeObjectStore
) -> None:
    engine = ctx.ports.engine
    assert isinstance(engine, FakeSqlEngine)
    scoring_rows(engine, 100)  # 66 of ids 0-99 and 34 of ids 100-149
    report = run_batch_planning(ctx)
    assert report == {"scoring_rows": 100, "batches": 10, "rows_per_batch": 10, "batch_rows": "features row groups"}
    assert engine.materialized == []  # nothing copied
    manifest = Manifest.from_bytes(store.get(ctx.layout.manifest_key))
    assert manifest.sliced and [e.rows for e in manifest.batches] == [10] * 10
    read = [
        read_slices(store, slices_from_bytes(store.get(ctx.layout.batch_slices_key(e.batch))), "label", f"b{e.batch}")
        for e in manifest.batches
    ]
    assert [t.num_rows for t in read] == [10] * 10
    ids = [i for t in read for i in t.column("id").to_pylist()]
    assert ids == scoring_ids(0, 100) + scoring_ids(100, 50)  # each once, in table order
    # The Map's items stay one small object per batch; each batch's slices are in its own object.
    assert json.loads(store.get(ctx.layout.batch_items_key)) == [{"batch": b, "rows": 10} for b in range(10)]


def test_a_slice_crossing_row_groups_and_files_reads_each_part(ctx: RunContext, store: FakeObjectStore) -> None:
    sliced = plan_slices(store, ctx.layout.features.location, "label", 100, 3)
    assert sliced is not None
    assert [sum(s.scoring_rows for s in b) for b in sliced] == [34, 33, 33]
    second = sliced[1]
    assert [(s.key.rsplit("/", 1)[1], s.row_group) for s in second] == [
        ("data_0.parquet", 1),
        ("data_0.parquet", 2),
        ("data_0.parquet", 3),
        ("data_1.parquet", 0),
    ]
    assert (
        read_slices(store, second, "label", "batch 1").column("id").to_pylist()
        == (scoring_ids(0, 100) + scoring_ids(100, 50))[34:67]
    )


def test_footers_without_null_counts_fall_back_to_the_copy(ctx: RunContext, store: FakeObjectStore) -> None:
    store.put(ctx.layout.features.location + "data_2.parquet", features_file(150, 30, group_rows=30, statistics=False))
    assert plan_slices(store, ctx.layout.features.location, "label", 120, 4) is None
    engine = ctx.ports.engine
    assert isinstance(engine, FakeSqlEngine)
    scoring_rows(engine, 120)
    engine.answer(r"GROUP BY batch", pa.table({"batch": [f"0000{b}" for b in range(12)], "n": [10] * 12}))
    assert run_batch_planning(ctx)["batch_rows"] == "scoring copy"
    assert not Manifest.from_bytes(store.get(ctx.layout.manifest_key)).sliced


def test_footers_that_disagree_with_the_table_count_fall_back_to_the_copy(
    ctx: RunContext, store: FakeObjectStore
) -> None:
    assert plan_slices(store, ctx.layout.features.location, "label", 101, 4) is None
    store.put(ctx.layout.features.location + "data_2.parquet", b"not parquet at all")
    assert plan_slices(store, ctx.layout.features.location, "label", 100, 4) is None


def test_a_features_file_changed_after_planning_is_refused_by_the_task(ctx: RunContext, store: FakeObjectStore) -> None:
    sliced = plan_slices(store, ctx.layout.features.location, "label", 100, 2)
    assert sliced is not None
    store.put(ctx.layout.features.location + "data_0.parquet", features_file(0, 100, group_rows=50))
    with pytest.raises(VerificationError, match=r"batch 0: .*data_0\.parquet changed since batch planning"):
        read_slices(store, sliced[0], "label", "batch 0")


def test_a_row_group_with_fewer_rows_to_score_than_planned_is_refused(ctx: RunContext, store: FakeObjectStore) -> None:
    sliced = plan_slices(store, ctx.layout.features.location, "label", 100, 1)
    assert sliced is not None
    key = ctx.layout.features.location + "data_1.parquet"
    relabelled = pa.table({"id": ["x"] * 50, "label": [1.0] * 50, "x": [0.0] * 50})
    sink = io.BytesIO()
    pq.write_table(relabelled, sink, row_group_size=50)
    store.objects[key] = sink.getvalue()
    with pytest.raises(VerificationError, match=r"row group 0 of .*data_1\.parquet holds 0 rows to score"):
        read_slices(store, tuple(s for s in sliced[0] if s.key == key), "label", "batch 0")


class CountingFetch:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.calls: list[tuple[int, int]] = []

    def __call__(self, start: int, length: int) -> bytes:
        self.calls.append((start, length))
        return self.data[start : start + length]


def test_a_row_group_costs_one_ranged_read_after_the_footer() -> None:
    data = features_file(0, 100, group_rows=30)
    fetch = CountingFetch(data)
    metadata = footer_metadata(fetch, len(data), "f")
    assert len(fetch.calls) == 1 and metadata.num_row_groups == 4
    file = RangedFile(fetch, len(data))
    file.prefetch(*row_group_span(metadata, 2))
    table = pq.ParquetFile(file, metadata=metadata).read_row_group(2)
    assert len(fetch.calls) == 2  # the prefetch; every read pyarrow made was inside it
    assert table.column("id").to_pylist() == [str(i) for i in range(60, 90)]


def test_a_footer_over_the_first_read_costs_a_second_one() -> None:
    wide = pa.table({f"column_{i:03d}_with_a_long_name": list(range(200)) for i in range(300)})
    sink = io.BytesIO()
    pq.write_table(wide, sink, row_group_size=20)
    data = sink.getvalue()
    fetch = CountingFetch(data)
    metadata = footer_metadata(fetch, len(data), "wide")
    assert metadata.num_row_groups == 10 and len(fetch.calls) == 2


def test_a_read_outside_the_prefetched_spans_is_fetched_not_invented() -> None:
    data = bytes(range(256)) * 4
    fetch = CountingFetch(data)
    file = RangedFile(fetch, len(data))
    file.prefetch(0, 100)
    file.seek(90)
    assert file.read(20) == data[90:110]  # crosses the span's end: fetched whole
    assert fetch.calls == [(0, 100), (90, 20)]
    file.seek(-4, io.SEEK_END)
    assert file.read(10) == data[-4:]


def test_a_file_that_is_not_parquet_is_named() -> None:
    with pytest.raises(ValueError, match=r"notes\.txt is not a Parquet file"):
        footer_metadata(CountingFetch(b"x" * 100), 100, "notes.txt")
    with pytest.raises(ValueError, match="tiny is too small"):
        footer_metadata(CountingFetch(b"PAR1"), 4, "tiny")


def test_a_prediction_task_scores_its_slices(ctx: RunContext, store: FakeObjectStore) -> None:
    engine = ctx.ports.engine
    assert isinstance(engine, FakeSqlEngine)
    scoring_rows(engine, 100)
    run_batch_planning(ctx)
    training = pa.table(
        {"id": [str(i) for i in range(300)], "label": [i * 0.5 for i in range(300)], "x": [i * 0.5 for i in range(300)]}
    )
    model, _ = fit(training, "id", ModelSection(label="label", min_labelled_rows=10))
    store.put(ctx.layout.model_key, model.to_bytes())
    assert run_prediction_batch(ctx, 3) == {"batch": 3, "rows": 10}
    out = pq.read_table(io.BytesIO(store.get(ctx.layout.prediction_key(3))))
    assert out.column("id").to_pylist() == (scoring_ids(0, 100) + scoring_ids(100, 50))[30:40]


def test_a_task_whose_slices_are_missing_says_so(ctx: RunContext, store: FakeObjectStore) -> None:
    engine = ctx.ports.engine
    assert isinstance(engine, FakeSqlEngine)
    scoring_rows(engine, 100)
    run_batch_planning(ctx)
    store.delete(ctx.layout.batch_slices_key(2))
    manifest = Manifest.from_bytes(store.get(ctx.layout.manifest_key))
    with pytest.raises(VerificationError, match=r"batch 2: .*batch=00002\.json is missing"):
        read_batch(ctx, manifest, 2)


def test_row_groups_too_large_for_a_task_to_hold_are_planned_as_the_copy(
    ctx: RunContext, store: FakeObjectStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batch_slices, "MAX_GROUP_BYTES", 100)  # every group of the fixture is larger
    assert plan_slices(store, ctx.layout.features.location, "label", 100, 4) is None


class CountingStore(FakeObjectStore):
    def __init__(self) -> None:
        super().__init__()
        self.ranges: list[tuple[str, int, int]] = []

    def get_range(self, key: str, start: int, length: int) -> bytes:
        self.ranges.append((key.rsplit("/", 1)[1], start, length))
        return super().get_range(key, start, length)


def test_a_task_reads_each_file_s_footer_once_and_each_row_group_in_one_ranged_read(ctx: RunContext) -> None:
    store = CountingStore()
    prefix = ctx.layout.features.location
    store.put(prefix + "data_0.parquet", features_file(0, 100, group_rows=30))
    store.put(prefix + "data_1.parquet", features_file(100, 50, group_rows=50))
    sliced = plan_slices(store, prefix, "label", 100, 1)
    assert sliced is not None
    store.ranges.clear()
    assert read_slices(store, sliced[0], "label", "batch 0").num_rows == 100
    files = [name for name, _start, _length in store.ranges]
    assert files == ["data_0.parquet"] * 5 + ["data_1.parquet"] * 2  # a footer, then its 4 and 1 groups
