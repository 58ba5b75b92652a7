from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from adapters.local.duckdb_catalog import DuckDBCatalog
from adapters.local.filesystem_store import FilesystemObjectStore
from domain.errors import QueryError


def test_keys_cannot_leave_the_root(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path)
    for key in ("../escape", "/etc/passwd", "a/../../b"):
        with pytest.raises(ValueError, match="inside the output root"):
            store.put(key, b"x")


def test_put_leaves_no_temporary_files_and_list_is_sorted(tmp_path: Path) -> None:
    store = FilesystemObjectStore(tmp_path)
    store.put("a/2.txt", b"2")
    store.put("a/1.txt", b"1")
    store.put("a/1.txt", b"one")
    assert [o.key for o in store.list("a/")] == ["a/1.txt", "a/2.txt"]
    assert store.get("a/1.txt") == b"one"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["1.txt", "2.txt"]
    assert store.put_if_absent("a/1.txt", b"x") is False and store.put_if_absent("a/3.txt", b"3") is True
    assert store.delete_prefix("a/") == 3 and store.list("a/") == []


def test_catalog_creates_once_publishes_and_answers_queries(tmp_path: Path) -> None:
    catalog = DuckDBCatalog(tmp_path)
    schema = pa.schema([("id", pa.string()), ("value", pa.float64())])
    assert catalog.ensure_table("results", schema, "results/results/") is True
    assert catalog.ensure_table("results", schema, "results/results/") is False
    assert catalog.query("SELECT count(*) AS n FROM results").to_pylist() == [{"n": 0}]
    folder = tmp_path / "results" / "results" / "run_id=r1"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"id": ["a", "b"], "value": [1.0, 2.0]}, schema=schema), folder / "part.parquet")
    catalog.publish("results", schema, "results/results/run_id=r1/")
    assert catalog.location("results") == "results/results/run_id=r1/"
    rows = catalog.query("SELECT * FROM results ORDER BY id").to_pylist()
    assert rows == [{"id": "a", "value": 1.0}, {"id": "b", "value": 2.0}]  # no column from the folder name
    catalog.drop("results")
    assert catalog.location("results") is None


def test_query_reaches_a_runs_own_tables(tmp_path: Path) -> None:
    catalog = DuckDBCatalog(tmp_path)
    catalog.ensure_table("results", pa.schema([("id", pa.string())]), "results/results/")
    staging = tmp_path / "runs" / "r1" / "staging"
    staging.mkdir(parents=True)
    pq.write_table(pa.table({"id": ["a", "b", "c"]}), staging / "part-00000.parquet")
    (tmp_path / "runs" / "r1" / "model").mkdir()  # not a table: no Parquet in it
    assert list(catalog.run_tables("r1")) == ["staging"]
    assert catalog.query("SELECT count(*) AS n FROM staging", run_id="r1").to_pylist() == [{"n": 3}]
    with pytest.raises(FileNotFoundError, match="no run r9"):
        catalog.query("SELECT 1", run_id="r9")


def test_a_bad_query_is_a_query_error_with_duckdbs_words(tmp_path: Path) -> None:
    catalog = DuckDBCatalog(tmp_path)
    catalog.ensure_table("results", pa.schema([("id", pa.string())]), "results/results/")
    with pytest.raises(QueryError, match=r"^query: DuckDB: Parser Error: syntax error at or near \"SELEC\""):
        catalog.query("SELEC 1")
    with pytest.raises(QueryError, match="Table with name nonexistent does not exist"):
        catalog.query("SELECT * FROM nonexistent")


def test_a_symlink_inside_the_root_never_takes_a_key_outside_it(tmp_path: Path) -> None:
    """ROOT/runs pointing elsewhere used to let every write and delete go there."""
    outside = tmp_path / "elsewhere"
    (outside / "r1" / "staging").mkdir(parents=True)
    (outside / "r1" / "staging" / "keep.parquet").write_bytes(b"not the lake's")
    root = tmp_path / "root"
    root.mkdir()
    (root / "runs").symlink_to(outside)
    store = FilesystemObjectStore(root)
    for action in (
        lambda: store.put("runs/r1/run.json", b"{}"),
        lambda: store.delete_prefix("runs/r1/staging/"),
        lambda: store.get("runs/r1/staging/keep.parquet"),
    ):
        with pytest.raises(ValueError, match="leaves the output root through a symbolic link"):
            action()
    assert (outside / "r1" / "staging" / "keep.parquet").exists() and not (outside / "r1" / "run.json").exists()
    inside = root / "results"
    inside.mkdir()
    (root / "alias").symlink_to(inside)  # a link that stays inside is fine
    store.put("alias/x.json", b"1")
    assert (inside / "x.json").read_bytes() == b"1"
