"""GlueCatalog and the Glue helper against moto's Glue."""

from __future__ import annotations

import base64
import json
import re
from typing import TYPE_CHECKING

import pyarrow as pa
import pytest

from adapters.aws.glue_catalog import GlueCatalog
from adapters.aws.glue_tables import PARQUET_SERDE, GlueTables
from adapters.aws.glue_types import hive_type, presto_type
from domain.ports.catalog import Join, TableVersion
from tests.integration.aws.fixtures import BUCKET, PREFIX

if TYPE_CHECKING:
    from mypy_boto3_glue import GlueClient

pytestmark = pytest.mark.integration

SCHEMA = pa.schema([("id", pa.string()), ("age", pa.float64()), ("n", pa.int64())])
DATABASE = "batchml_test"


@pytest.fixture
def catalog(glue_client: GlueClient) -> GlueCatalog:
    return GlueCatalog(glue_client, DATABASE, BUCKET, PREFIX)


def test_ensure_table_creates_database_and_parquet_table_once(catalog: GlueCatalog, glue_client: GlueClient) -> None:
    assert catalog.ensure_table("ages", SCHEMA, "results/ages/")
    assert not catalog.ensure_table("ages", pa.schema([("other", pa.string())]), "elsewhere/")
    table = glue_client.get_table(DatabaseName=DATABASE, Name="ages")["Table"]
    storage = table["StorageDescriptor"]
    assert storage["Location"] == f"s3://{BUCKET}/{PREFIX}/results/ages/"
    assert [(c["Name"], c["Type"]) for c in storage["Columns"]] == [
        ("id", "string"),
        ("age", "double"),
        ("n", "bigint"),
    ]
    assert storage["SerdeInfo"]["SerializationLibrary"] == PARQUET_SERDE
    assert table["TableType"] == "EXTERNAL_TABLE"
    assert catalog.location("ages") == "results/ages/"


def test_publish_switches_location_and_columns_in_one_update(catalog: GlueCatalog, glue_client: GlueClient) -> None:
    catalog.ensure_table("ages", SCHEMA, "results/ages/")
    wider = SCHEMA.append(pa.field("value_source", pa.string()))
    catalog.publish("ages", wider, "results/ages/run_id=r2/")
    assert catalog.location("ages") == "results/ages/run_id=r2/"
    columns = glue_client.get_table(DatabaseName=DATABASE, Name="ages")["Table"]["StorageDescriptor"]["Columns"]
    assert [c["Name"] for c in columns] == ["id", "age", "n", "value_source"]
    # Glue keeps the previous definition as a version: a published table can be rolled back.
    versions = glue_client.get_table_versions(DatabaseName=DATABASE, TableName="ages")["TableVersions"]
    assert len(versions) == 2


def test_publish_creates_a_missing_table(catalog: GlueCatalog) -> None:
    catalog.publish("ages_rejects", SCHEMA, "runs/r1/rejects/")
    assert catalog.location("ages_rejects") == "runs/r1/rejects/"


def test_drop_forgets_the_table_and_is_quiet_when_absent(catalog: GlueCatalog) -> None:
    assert catalog.location("ages") is None  # not even the database exists yet
    catalog.ensure_table("ages", SCHEMA, "results/ages/")
    catalog.drop("ages")
    catalog.drop("ages")
    assert catalog.location("ages") is None


def test_names_must_be_identifiers(catalog: GlueCatalog) -> None:
    with pytest.raises(ValueError, match="not a valid identifier"):
        catalog.ensure_table('x"; DROP', SCHEMA, "results/x/")


def test_partitions_are_registered_in_batches(glue_client: GlueClient) -> None:
    tables = GlueTables(glue_client, DATABASE, BUCKET, PREFIX)
    columns = [("id", "string"), ("value", "double")]
    tables.create(tables.table_input("preds", columns, "runs/r1/predictions/", [("batch", "string")]))
    values = [f"{i:05d}" for i in range(150)]
    assert tables.add_partitions("preds", "batch", values, columns, "runs/r1/predictions/") == 150
    tables.add_partitions("preds", "batch", values[:3], columns, "runs/r1/predictions/")  # already there: fine
    assert tables.partition_values("preds") == set(values)
    part = glue_client.get_partition(DatabaseName=DATABASE, TableName="preds", PartitionValues=["00042"])
    assert (
        part["Partition"]["StorageDescriptor"]["Location"] == f"s3://{BUCKET}/{PREFIX}/runs/r1/predictions/batch=00042/"
    )


@pytest.mark.parametrize(
    ("arrow", "hive"),
    [
        (pa.large_string(), "string"),
        (pa.int32(), "int"),
        (pa.bool_(), "boolean"),
        (pa.timestamp("us"), "timestamp"),
        (pa.decimal128(10, 2), "decimal(10,2)"),
        (pa.list_(pa.float64()), "array<double>"),
        (pa.struct([("a", pa.int64()), ("b", pa.string())]), "struct<a:bigint,b:string>"),
        (pa.dictionary(pa.int32(), pa.string()), "string"),
    ],
)
def test_arrow_types_map_to_hive_types(arrow: pa.DataType, hive: str) -> None:
    assert hive_type(arrow) == hive


@pytest.mark.parametrize(
    ("arrow", "trino"),
    [
        (pa.string(), "varchar"),
        (pa.int32(), "integer"),
        (pa.float32(), "real"),
        (pa.date32(), "date"),
        (pa.list_(pa.string()), "array(varchar)"),
        (
            pa.list_(pa.struct([("title", pa.string()), ("start_year", pa.int32())])),
            "array(row(title varchar, start_year integer))",
        ),
    ],
)
def test_arrow_types_map_to_the_types_a_view_declares(arrow: pa.DataType, trino: str) -> None:
    assert presto_type(arrow) == trino


JOBS = pa.list_(pa.struct([("title", pa.string()), ("start_year", pa.int32())]))


def test_a_joined_version_is_a_view_over_two_tables_of_its_own(catalog: GlueCatalog, glue_client: GlueClient) -> None:
    """The view's columns carry their exact types (an array of rows, not varchar): Athena calls a
    view whose declared types differ from its query's stale and refuses it."""
    staged = pa.schema([("id", pa.string()), ("jobs", JOBS)])
    values = pa.schema([("id", pa.string()), ("value", pa.float64())])
    shown = pa.schema([("id", pa.string()), ("jobs", JOBS), ("value", pa.float64())])
    for run in ("r1", "r2"):
        join = Join("id", f"runs/{run}/staging/", staged, values)
        catalog.publish_together([TableVersion("ages", shown, f"results/ages/run_id={run}/", join)])
    view = glue_client.get_table(DatabaseName=DATABASE, Name="ages")["Table"]
    assert view["TableType"] == "VIRTUAL_VIEW" and catalog.location("ages") == "results/ages/run_id=r2/"
    body = json.loads(base64.b64decode(view["ViewOriginalText"].removeprefix("/* Presto View: ").removesuffix(" */")))
    assert body["columns"][1] == {"name": "jobs", "type": "array(row(title varchar, start_year integer))"}
    names = {t["Name"] for t in glue_client.get_tables(DatabaseName=DATABASE)["TableList"]}
    assert names == {"ages", *(re.findall(r'"(ages__(?:base|added)_[0-9a-f]+)"', body["originalSql"]))}  # r1's gone
    assert len(names) == 3
    catalog.drop("ages")
    assert glue_client.get_tables(DatabaseName=DATABASE)["TableList"] == []
