"""S3ObjectStore against moto's S3: keys under a prefix, multipart, conditional writes, batched deletes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends

from adapters.aws.s3_store import S3ObjectStore
from tests.integration.aws.fixtures import BUCKET, PREFIX

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


def test_put_get_replace_and_exists(s3_store: S3ObjectStore, s3_client: S3Client) -> None:
    s3_store.put("runs/r1/run.json", b"first")
    s3_store.put("runs/r1/run.json", b"second")
    assert s3_store.get("runs/r1/run.json") == b"second"
    assert s3_store.exists("runs/r1/run.json")
    assert not s3_store.exists("runs/r1/other.json")
    # The key lives under the store's prefix in the bucket.
    body = s3_client.get_object(Bucket=BUCKET, Key=f"{PREFIX}/runs/r1/run.json")["Body"].read()
    assert body == b"second"
    with pytest.raises(KeyError):
        s3_store.get("runs/r1/missing.json")


def test_large_object_goes_up_in_parts(s3_store: S3ObjectStore, s3_client: S3Client) -> None:
    data = bytes(range(256)) * (11 * MIB // 256)  # 11 MiB, threshold 5 MiB: three parts
    s3_store.put("runs/r1/model/model.joblib", data)
    head = s3_client.head_object(Bucket=BUCKET, Key=f"{PREFIX}/runs/r1/model/model.joblib")
    assert head["ETag"].strip('"').endswith("-3")  # S3's mark of a multipart upload
    assert s3_store.get("runs/r1/model/model.joblib") == data


def test_put_if_absent_is_a_conditional_write(s3_store: S3ObjectStore) -> None:
    assert s3_store.put_if_absent("runs/_lock.json", b"a")
    assert not s3_store.put_if_absent("runs/_lock.json", b"b")
    assert s3_store.get("runs/_lock.json") == b"a"


def test_list_pages_and_delete_prefix_batches(s3_store: S3ObjectStore, s3_client: S3Client) -> None:
    # More than one ListObjectsV2 page and one DeleteObjects call (1000 keys each), written
    # into moto's backend directly: 1203 PUT requests would take seconds.
    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for i in range(1203):
        backend.put_object(BUCKET, f"{PREFIX}/runs/r1/staging/part-{i:05d}.parquet", b"p")
    s3_store.put("runs/r1/stagingX/keep.parquet", b"k")  # shares the text prefix, not the folder
    listed = s3_store.list("runs/r1/staging/")
    assert len(listed) == 1203
    assert [o.key for o in listed] == sorted(o.key for o in listed)
    assert listed[0].key == "runs/r1/staging/part-00000.parquet" and listed[0].size == 1
    assert [o.key for o in s3_store.list("runs/r1/stagingX")] == ["runs/r1/stagingX/keep.parquet"]
    assert s3_store.delete_prefix("runs/r1/staging/") == 1203
    assert s3_store.list("runs/r1/staging/") == []
    assert s3_store.exists("runs/r1/stagingX/keep.parquet")
    assert s3_store.delete_prefix("runs/r1/staging/") == 0
    with pytest.raises(ValueError, match="ending in '/'"):
        s3_store.delete_prefix("runs/r1/stagingX")


def test_delete_is_quiet_for_missing_keys(s3_store: S3ObjectStore) -> None:
    s3_store.put("a/b.txt", b"1")
    s3_store.delete("a/b.txt")
    s3_store.delete("a/b.txt")
    assert not s3_store.exists("a/b.txt")


@pytest.mark.parametrize("key", ["/etc/passwd", "../other-team/x", "runs/../../x", "runs\\x"])
def test_keys_that_escape_the_prefix_are_refused(s3_store: S3ObjectStore, key: str) -> None:
    with pytest.raises(ValueError, match="inside the output root"):
        s3_store.put(key, b"x")
    with pytest.raises(ValueError, match="inside the output root"):
        s3_store.get(key)


def test_uri_and_full_key(s3_store: S3ObjectStore, s3_client: S3Client) -> None:
    assert s3_store.uri("runs/r1/") == f"s3://{BUCKET}/{PREFIX}/runs/r1/"
    assert s3_store.full_key("runs/r1/batches/items.json") == f"{PREFIX}/runs/r1/batches/items.json"
    bare = S3ObjectStore(s3_client, BUCKET, "")
    assert bare.uri("x/y") == f"s3://{BUCKET}/x/y"
