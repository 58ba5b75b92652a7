"""What killed writes leave behind is swept by the next run's pre-cleanup (issue 14, finding 5:
6 kills out of 22 left raw.tmp-* or run_id=...tmp-* folders that no later run removed)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from adapters.aws.s3_store import S3ObjectStore
from domain.run_lifecycle import start_run
from domain.services.cleanup import run_cleanup, run_pre_cleanup
from domain.services.publishing import run_publish
from tests.integration.aws.fixtures import aws, s3_client, s3_store
from tests.integration.lake_runs import LocalLake, write_aggregated_run

pytestmark = pytest.mark.integration

__all__ = ["aws", "s3_client", "s3_store"]  # moto's S3, for the multipart test

LEFT_BY_KILLS = [
    "runs/run-k/raw.tmp-1a2b3c4d/part-00000.parquet",  # ingest cut short
    "results/ages/run_id=run-k.tmp-5e6f7a8b/part-00000.parquet",  # aggregation cut short
    "runs/run-k/staging.old-9c0d1e2f/part-00000.parquet",  # a replaced table not yet removed
    "runs/_lock.json.tmp-3a4b5c6d",  # a lock being written
    "runs/run-k/run.json.tmp-7e8f9a0b",  # a state being written
    "results/ages/_published.json.tmp-1c2d3e4f",
]


def test_pre_cleanup_removes_what_killed_writes_left(tmp_path: Path) -> None:
    lake = LocalLake(tmp_path)
    lake.new()
    published = lake.context("run-a")
    write_aggregated_run(published)
    run_publish(published)
    run_cleanup(published)
    for key in LEFT_BY_KILLS:
        (tmp_path / key).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / key).write_bytes(b"half-written")
    ctx = lake.context("run-b")
    start_run(ctx, time.time())
    report = run_pre_cleanup(ctx)
    assert [key for key in LEFT_BY_KILLS if (tmp_path / key).exists()] == []
    assert not list(tmp_path.rglob("*.tmp-*")) and not list(tmp_path.rglob("*.old-*"))
    assert report["objects_deleted"] == len(LEFT_BY_KILLS)  # nothing else was left to remove
    assert lake.shown() == ({"run-a"}, {"run-a"})  # what is published is untouched


def test_unfinished_multipart_uploads_are_aborted(s3_store: S3ObjectStore) -> None:
    client = s3_store.client
    key = s3_store.full_key("runs/run-k/predictions/batch=00001/part.parquet")
    client.create_multipart_upload(Bucket=s3_store.bucket, Key=key)  # the writer died before completing it
    other = client.create_multipart_upload(Bucket=s3_store.bucket, Key="elsewhere/part.parquet")
    assert s3_store.remove_interrupted_writes("") == 1
    left = client.list_multipart_uploads(Bucket=s3_store.bucket).get("Uploads", [])
    assert [u["UploadId"] for u in left] == [other["UploadId"]]  # outside the lake's prefix: not ours
