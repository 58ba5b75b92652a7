"""One contract, two Catalogs: DuckDB's catalog file and Glue (moto)."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from adapters.aws.glue_catalog import GlueCatalog
from adapters.local.duckdb_catalog import DuckDBCatalog
from adapters.local.filesystem_store import FilesystemObjectStore
from domain.ports.catalog import Catalog, Join, TableVersion
from domain.ports.object_store import ObjectStore
from tests.integration.aws.fixtures import BUCKET, PREFIX

pytestmark = pytest.mark.integration

SCHEMA = pa.schema([("id", pa.string()), ("value", pa.float64()), ("value_source", pa.string())])


@pytest.fixture(params=["duckdb", "glue"])
def lake(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Catalog, ObjectStore]:
    """A catalog and the store its locations live in (publish points at data that exists)."""
    if request.param == "duckdb":
        return DuckDBCatalog(tmp_path / "root"), FilesystemObjectStore(tmp_path / "root")
    glue = GlueCatalog(request.getfixturevalue("glue_client"), "batchml_contract", BUCKET, PREFIX)
    return glue, request.getfixturevalue("s3_store")


@pytest.fixture
def catalog(lake: tuple[Catalog, ObjectStore]) -> Catalog:
    return lake[0]


def write_data(lake: tuple[Catalog, ObjectStore], location: str, schema: pa.Schema) -> None:
    sink = io.BytesIO()
    pq.write_table(schema.empty_table(), sink)
    lake[1].put(f"{location}part-00000.parquet", sink.getvalue())


def test_ensure_table_is_idempotent(catalog: Catalog) -> None:
    assert catalog.location("ages") is None
    assert catalog.ensure_table("ages", SCHEMA, "results/ages/")
    assert not catalog.ensure_table("ages", SCHEMA, "results/other/")
    assert catalog.location("ages") == "results/ages/"


def test_publish_points_the_table_at_a_new_location(catalog: Catalog, lake: tuple[Catalog, ObjectStore]) -> None:
    catalog.ensure_table("ages", SCHEMA, "results/ages/")
    write_data(lake, "results/ages/run_id=r1/", SCHEMA)
    catalog.publish("ages", SCHEMA, "results/ages/run_id=r1/")
    assert catalog.location("ages") == "results/ages/run_id=r1/"
    wider = SCHEMA.append(pa.field("run_id", pa.string()))
    write_data(lake, "results/ages/run_id=r2/", wider)
    catalog.publish("ages", wider, "results/ages/run_id=r2/")
    assert catalog.location("ages") == "results/ages/run_id=r2/"


def test_publish_creates_a_table_that_does_not_exist(catalog: Catalog, lake: tuple[Catalog, ObjectStore]) -> None:
    write_data(lake, "runs/r1/rejects/", SCHEMA)
    catalog.publish("ages_rejects", SCHEMA, "runs/r1/rejects/")
    assert catalog.location("ages_rejects") == "runs/r1/rejects/"


def test_drop_forgets_and_is_quiet_when_absent(catalog: Catalog) -> None:
    catalog.ensure_table("ages", SCHEMA, "results/ages/")
    catalog.drop("ages")
    catalog.drop("ages")
    assert catalog.location("ages") is None
    assert catalog.ensure_table("ages", SCHEMA, "results/ages/")  # a dropped name is free again


def test_names_are_validated(catalog: Catalog) -> None:
    with pytest.raises(ValueError):
        catalog.ensure_table("Ages; DROP", SCHEMA, "results/x/")


STAGED = pa.schema([("id", pa.string()), ("age", pa.int64()), ("jobs", pa.list_(pa.struct([("title", pa.string())])))])
VALUES = pa.schema([("id", pa.string()), ("value", pa.float64()), ("run_id", pa.string())])


def joined(name: str, run: str) -> TableVersion:
    staged_at, values_at = f"runs/{run}/staging/", f"results/{name}/run_id={run}/"
    schema = pa.schema([*STAGED, *[f for f in VALUES if f.name != "id"]])
    return TableVersion(name, schema, values_at, Join("id", staged_at, STAGED, VALUES))


def test_a_joined_version_is_published_at_its_own_location_and_switches_back_and_forth(
    catalog: Catalog, lake: tuple[Catalog, ObjectStore]
) -> None:
    """Issue 17: the results table is the run's values joined to its staging table, not a copy."""
    catalog.ensure_table("ages", SCHEMA, "results/ages/_empty/")
    for run in ("r1", "r2"):
        version = joined("ages", run)
        assert version.join is not None
        write_data(lake, version.join.base_location, STAGED)
        write_data(lake, version.location, VALUES)
        catalog.publish_together([version])
        assert catalog.location("ages") == version.location
    write_data(lake, "results/ages/run_id=r0/", SCHEMA)
    catalog.publish("ages", SCHEMA, "results/ages/run_id=r0/")  # a run published as one table, before
    assert catalog.location("ages") == "results/ages/run_id=r0/"
    catalog.publish_together([joined("ages", "r2")])
    assert catalog.location("ages") == "results/ages/run_id=r2/"
