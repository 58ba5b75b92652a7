"""One contract, two ObjectStores: the local folder and S3 (moto) must behave the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.local.filesystem_store import FilesystemObjectStore
from domain.ports.object_store import ObjectStore

pytestmark = pytest.mark.integration


@pytest.fixture(params=["filesystem", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "filesystem":
        return FilesystemObjectStore(tmp_path / "root")
    s3_store: ObjectStore = request.getfixturevalue("s3_store")
    return s3_store


def test_put_replaces_and_get_reads(store: ObjectStore) -> None:
    store.put("runs/r1/model/card.json", b"one")
    store.put("runs/r1/model/card.json", b"two")
    assert store.get("runs/r1/model/card.json") == b"two"
    assert store.exists("runs/r1/model/card.json") and not store.exists("runs/r1/model/other.json")
    with pytest.raises(KeyError):
        store.get("runs/r1/model/other.json")


def test_get_range_reads_part_of_an_object_and_stops_at_its_end(store: ObjectStore) -> None:
    data = bytes(range(256)) * 4
    store.put("runs/r1/features/data_0.parquet", data)
    assert store.get_range("runs/r1/features/data_0.parquet", 10, 20) == data[10:30]
    assert store.get_range("runs/r1/features/data_0.parquet", 1000, 100) == data[1000:]  # the last 24 bytes
    assert store.get_range("runs/r1/features/data_0.parquet", 0, 0) == b""
    with pytest.raises(KeyError):
        store.get_range("runs/r1/features/data_1.parquet", 0, 10)


def test_put_if_absent_writes_only_once(store: ObjectStore) -> None:
    assert store.put_if_absent("runs/_lock.json", b"first")
    assert not store.put_if_absent("runs/_lock.json", b"second")
    assert store.get("runs/_lock.json") == b"first"


def test_compare_and_swap_writes_and_deletes_only_the_version_read(store: ObjectStore) -> None:
    with pytest.raises(KeyError):
        store.get_versioned("runs/_lock.json")
    store.put("runs/_lock.json", b"one")
    data, first = store.get_versioned("runs/_lock.json")
    assert data == b"one"
    assert store.put_if_version("runs/_lock.json", b"two", first)
    assert not store.put_if_version("runs/_lock.json", b"three", first)  # someone wrote since
    assert not store.delete_if_version("runs/_lock.json", first)
    data, second = store.get_versioned("runs/_lock.json")
    assert data == b"two" and second != first
    assert store.delete_if_version("runs/_lock.json", second) and not store.exists("runs/_lock.json")
    assert not store.put_if_version("runs/_lock.json", b"four", second)  # gone: nothing to swap
    assert [o.key for o in store.list("runs/")] == []  # no temporary file left behind


def test_list_is_sorted_with_sizes_and_filters_by_prefix(store: ObjectStore) -> None:
    for key in ("runs/r1/markers/b.json", "runs/r1/markers/a.json", "runs/r1/run.json", "runs/r2/run.json"):
        store.put(key, key.encode())
    listed = store.list("runs/r1/")
    assert [o.key for o in listed] == ["runs/r1/markers/a.json", "runs/r1/markers/b.json", "runs/r1/run.json"]
    assert listed[0].size == len(b"runs/r1/markers/a.json")
    assert [o.key for o in store.list("runs/r1/ma")] == ["runs/r1/markers/a.json", "runs/r1/markers/b.json"]
    assert store.list("runs/none/") == []


def test_delete_and_delete_prefix(store: ObjectStore) -> None:
    for key in ("runs/r1/staging/p0.parquet", "runs/r1/staging/sub/p1.parquet", "runs/r1/stagingX/p.parquet"):
        store.put(key, b"x")
    assert store.delete_prefix("runs/r1/staging/") == 2
    assert [o.key for o in store.list("runs/r1/")] == ["runs/r1/stagingX/p.parquet"]
    assert store.delete_prefix("runs/r1/staging/") == 0
    with pytest.raises(ValueError):
        store.delete_prefix("runs/r1/stagingX")
    store.delete("runs/r1/stagingX/p.parquet")
    store.delete("runs/r1/stagingX/p.parquet")  # quiet when absent
    assert store.list("runs/") == []


@pytest.mark.parametrize("key", ["/abs/key", "../escape", "runs/../../escape"])
def test_keys_must_stay_inside_the_root(store: ObjectStore, key: str) -> None:
    with pytest.raises(ValueError):
        store.put(key, b"x")


def test_uri_names_the_key(store: ObjectStore) -> None:
    assert store.uri("runs/r1/run.json").endswith("runs/r1/run.json")
