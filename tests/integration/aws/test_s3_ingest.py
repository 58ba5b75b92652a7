"""ingest_lines on AWS: JSON-lines objects in S3 -> Parquet parts + a Glue table, via moto."""

from __future__ import annotations

import gzip
import io
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from adapters.aws.athena_engine import AthenaSqlEngine, raw_offsets, working_table
from adapters.aws.glue_tables import GlueTables
from adapters.aws.s3_lines_ingest import SourceObject, plan_items
from adapters.aws.s3_store import S3ObjectStore
from adapters.shared.lines import RAW_SCHEMA
from domain.errors import DataQualityError
from domain.ports.sql_engine import TableRef
from tests.integration.aws.fixtures import BUCKET, PREFIX

if TYPE_CHECKING:
    from mypy_boto3_athena import AthenaClient
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration

SOURCE_BUCKET = "raw-source"
RAW = TableRef("ages_raw_r1", "runs/r1/raw/")


@pytest.fixture
def source(s3_client: S3Client) -> str:
    s3_client.create_bucket(Bucket=SOURCE_BUCKET)
    objects = {
        "in/a.jsonl": b'{"id": 1}\n{"id": 2}\n\n',
        "in/b.jsonl.gz": gzip.compress(b'{"id": 3}\n{"id": 4}'),
        "in/sub/c.ndjson": b'{"id": 5}\n',
        "in/_SUCCESS": b"",
        "in/.hidden.jsonl": b'{"id": 99}\n',
        "in/folder-marker/": b"",
    }
    for key, body in objects.items():
        s3_client.put_object(Bucket=SOURCE_BUCKET, Key=key, Body=body)
    return f"s3://{SOURCE_BUCKET}/in"


def make_engine(
    athena: AthenaClient, glue: GlueClient, s3: S3Client, store: S3ObjectStore, part_bytes: int | None = None
) -> AthenaSqlEngine:
    tables = GlueTables(glue, "batchml_it", BUCKET, PREFIX)
    return AthenaSqlEngine(athena, tables, s3, store, workgroup="primary", ingest_part_bytes=part_bytes)


def read_raw(store: S3ObjectStore) -> pa.Table:
    parts = [o.key for o in store.list(RAW.location)]
    return pa.concat_tables(pq.read_table(io.BytesIO(store.get(k))) for k in parts)


def test_every_line_of_every_json_lines_object_lands_in_parquet(
    athena_client: AthenaClient, glue_client: GlueClient, s3_client: S3Client, s3_store: S3ObjectStore, source: str
) -> None:
    s3_store.put("runs/r1/raw/part-00001-000.parquet", b"from an earlier attempt of item 1")
    stats = make_engine(athena_client, glue_client, s3_client, s3_store).ingest_lines(source, RAW)
    assert (stats.files, stats.lines) == (3, 6)
    assert stats.bytes_read == sum(
        s3_client.head_object(Bucket=SOURCE_BUCKET, Key=k)["ContentLength"]
        for k in ("in/a.jsonl", "in/b.jsonl.gz", "in/sub/c.ndjson")
    )
    assert [o.key for o in s3_store.list(RAW.location)] == [f"runs/r1/raw/part-0000{i}-000.parquet" for i in range(3)]
    table = read_raw(s3_store)
    assert table.schema == RAW_SCHEMA
    assert table.select(["source_file", "line_number", "line", "problem"]).to_pylist() == [
        {"source_file": f"{source}/a.jsonl", "line_number": 1, "line": '{"id": 1}', "problem": None},
        {"source_file": f"{source}/a.jsonl", "line_number": 2, "line": '{"id": 2}', "problem": None},
        # A blank line is readable text; staging classifies it as empty.
        {"source_file": f"{source}/a.jsonl", "line_number": 3, "line": "", "problem": None},
        {"source_file": f"{source}/b.jsonl.gz", "line_number": 1, "line": '{"id": 3}', "problem": None},
        {"source_file": f"{source}/b.jsonl.gz", "line_number": 2, "line": '{"id": 4}', "problem": None},
        {"source_file": f"{source}/sub/c.ndjson", "line_number": 1, "line": '{"id": 5}', "problem": None},
    ]
    table_def = glue_client.get_table(DatabaseName="batchml_it", Name=working_table(RAW))["Table"]
    columns = [(c["Name"], c["Type"]) for c in table_def["StorageDescriptor"]["Columns"]]
    assert columns == [("source_file", "string"), ("line_number", "bigint"), ("line", "string"), ("problem", "string")]
    assert table_def["StorageDescriptor"]["Location"] == f"s3://{BUCKET}/{PREFIX}/runs/r1/raw/"


def test_parts_roll_over_to_bound_local_disk(
    athena_client: AthenaClient, glue_client: GlueClient, s3_client: S3Client, s3_store: S3ObjectStore, source: str
) -> None:
    engine = make_engine(athena_client, glue_client, s3_client, s3_store, part_bytes=1)
    assert engine.ingest_lines(source, RAW).lines == 6
    assert len(s3_store.list(RAW.location)) > 1
    assert read_raw(s3_store).num_rows == 6


def test_a_single_object_and_an_empty_prefix(
    athena_client: AthenaClient, glue_client: GlueClient, s3_client: S3Client, s3_store: S3ObjectStore, source: str
) -> None:
    engine = make_engine(athena_client, glue_client, s3_client, s3_store)
    assert engine.ingest_lines(f"{source}/a.jsonl", RAW).lines == 3
    assert engine.plan_ingest(f"s3://{SOURCE_BUCKET}/nothing-here/", 1 << 30) == []
    with pytest.raises(DataQualityError, match="s3://"):
        engine.ingest_lines("/local/folder", RAW)


def test_a_large_object_is_read_in_ranges_that_together_hold_each_line_once(
    athena_client: AthenaClient, glue_client: GlueClient, s3_client: S3Client, s3_store: S3ObjectStore
) -> None:
    """Cut at every item size from 1 byte up: whatever the cut, each line is read by exactly one
    range (the one it starts in), whole, and blank lines and a missing final newline survive."""
    s3_client.create_bucket(Bucket=SOURCE_BUCKET)
    body = b'{"id": 1}\n\n{"id": 22, "name": "a\\\\nb"}\n{"id": 333}\n\n\n{"id": 4444}'
    s3_client.put_object(Bucket=SOURCE_BUCKET, Key="big.jsonl", Body=body)
    engine = make_engine(athena_client, glue_client, s3_client, s3_store)
    whole = [line.decode() for line in body.split(b"\n")]
    for size in range(1, len(body) + 2):
        items = engine.plan_ingest(f"s3://{SOURCE_BUCKET}/big.jsonl", size)
        assert all(item.size <= size for item in items)
        for o in s3_store.list(RAW.location):
            s3_store.delete(o.key)
        counts = engine.ingest_items(items, RAW)
        table = read_raw(s3_store)
        assert table.column("line").to_pylist() == whole, f"item size {size}"
        assert sum(counts) == len(whole)
        # Each item numbered its own lines from 1; the offsets make them file-wide.
        offsets = raw_offsets(items, counts)
        numbers = []
        for item, count in zip(items, counts, strict=True):
            numbers += [offsets.get(item.index, 0) + n for n in range(1, count + 1)]
        assert numbers == list(range(1, len(whole) + 1)), f"item size {size}"


def test_a_compressed_object_is_one_item_and_a_huge_one_is_refused_by_name(s3_client: S3Client) -> None:
    objects = [SourceObject("b", "x.jsonl.gz", 5 << 30), SourceObject("b", "y.jsonl", 3 << 30)]
    with pytest.raises(DataQualityError, match=r"s3://b/x\.jsonl\.gz is 5\.0 GiB compressed"):
        plan_items(objects, 1 << 30)
    items = plan_items([SourceObject("b", "x.JSONL.GZ", 900 << 20), objects[1]], 1 << 30)
    assert [(i.source_file, i.start, i.end) for i in items] == [
        ("s3://b/x.JSONL.GZ", 0, None),
        ("s3://b/y.jsonl", 0, 1 << 30),
        ("s3://b/y.jsonl", 1 << 30, 2 << 30),
        ("s3://b/y.jsonl", 2 << 30, 3 << 30),
    ]


def test_an_object_no_reader_takes_is_refused_by_name_before_any_work(
    athena_client: AthenaClient, glue_client: GlueClient, s3_client: S3Client, s3_store: S3ObjectStore, source: str
) -> None:
    s3_client.put_object(Bucket=SOURCE_BUCKET, Key="in/notes.txt", Body=b"not data\n")
    s3_client.put_object(Bucket=SOURCE_BUCKET, Key="in/UPPER.JSONL", Body=b'{"id": 7}\n')
    engine = make_engine(athena_client, glue_client, s3_client, s3_store)
    with pytest.raises(DataQualityError, match=r"1 file\(s\) that are not JSON lines: s3://raw-source/in/notes\.txt"):
        engine.plan_ingest(source, 1 << 30)
    s3_client.delete_object(Bucket=SOURCE_BUCKET, Key="in/notes.txt")
    names = [item.source_file.rsplit("/", 1)[-1] for item in engine.plan_ingest(source, 1 << 30)]
    assert names == ["UPPER.JSONL", "a.jsonl", "b.jsonl.gz", "c.ndjson"]
