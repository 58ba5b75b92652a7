"""AthenaSqlEngine against moto (Athena API, Glue, S3): the statements it sends and what it
registers. Moto runs no SQL, so results are canned; see test_athena_queries.py for what
moto cannot produce at all."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pyarrow as pa
import pytest
from moto.moto_api import state_manager

from adapters.aws.athena_engine import AthenaSqlEngine, staging_ref, working_table
from adapters.aws.glue_tables import GlueTables
from adapters.aws.s3_store import S3ObjectStore
from domain.errors import QueryError
from domain.ports.sql_engine import TableRef
from tests.integration.aws.athena_support import athena_backend, canned, put_parquet, sent
from tests.integration.aws.fixtures import BUCKET, PREFIX

if TYPE_CHECKING:
    from mypy_boto3_athena import AthenaClient
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration

DB = "batchml_it"
STAGING = TableRef("ages_staging_r1", "runs/r1/staging/")
FEATURES = TableRef("ages_features_r1", "runs/r1/features/")
SCORING = TableRef("ages_scoring_r1", "runs/r1/scoring/", partitioned_by="batch")
PREDICTIONS = TableRef("ages_predictions_r1", "runs/r1/predictions/", partitioned_by="batch")


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def glue(glue_client: GlueClient) -> GlueTables:
    return GlueTables(glue_client, DB, BUCKET, PREFIX)


@pytest.fixture
def engine(
    athena_client: AthenaClient, glue: GlueTables, s3_client: S3Client, s3_store: S3ObjectStore, slept: list[float]
) -> AthenaSqlEngine:
    return AthenaSqlEngine(
        athena_client,
        glue,
        s3_client,
        s3_store,
        workgroup="primary",
        output_location=f"s3://{BUCKET}/athena-results/",
        sleep=slept.append,
    )


@pytest.fixture
def staged(s3_store: S3ObjectStore) -> None:
    put_parquet(s3_store, "runs/r1/staging/part-00000.parquet", pa.table({"id": ["a", "b"], "age": [31.0, None]}))


def table_name(ref: TableRef) -> str:
    return f'"{DB}"."{working_table(ref)}"'


@pytest.mark.usefixtures("staged")
def test_query_registers_its_input_and_types_the_result(engine: AthenaSqlEngine, glue: GlueTables) -> None:
    canned([("n", "bigint"), ("mean_age", "double"), ("id", "varchar")], [["2", "31.5", "a"], ["1", None, None]])
    result = engine.query(
        "SELECT count(*) AS n, avg(age) AS mean_age, min(id) AS id FROM {{ staging }}",
        {"staging": STAGING},
        sql_name="staging check",
    )
    assert result.schema == pa.schema([("n", pa.int64()), ("mean_age", pa.float64()), ("id", pa.string())])
    assert result.to_pylist() == [{"n": 2, "mean_age": 31.5, "id": "a"}, {"n": 1, "mean_age": None, "id": None}]
    assert sent() == [f"SELECT count(*) AS n, avg(age) AS mean_age, min(id) AS id FROM {table_name(STAGING)}"]
    # The input had no Glue table: one was made from the Parquet footer.
    table = glue.get(working_table(STAGING))
    assert table is not None
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [
        ("id", "string"),
        ("age", "double"),
    ]
    execution = next(iter(athena_backend().executions.values()))
    assert execution.workgroup.name == "primary" and execution.context == {"Database": DB}


@pytest.mark.usefixtures("staged")
def test_materialize_is_a_ctas_into_an_emptied_location(
    engine: AthenaSqlEngine, glue: GlueTables, s3_store: S3ObjectStore
) -> None:
    s3_store.put("runs/r1/features/part-old.parquet", b"left by an earlier attempt")
    glue.create(glue.table_input(working_table(FEATURES), [("id", "string")], FEATURES.location))
    stats = engine.materialize(
        FEATURES, "SELECT id, age AS label FROM {{ staging }};\n", {"staging": STAGING}, sql_name="features.sql"
    )
    assert sent() == [
        f"CREATE TABLE {table_name(FEATURES)}\n"
        "WITH (format = 'PARQUET', write_compression = 'SNAPPY', "
        f"external_location = 's3://{BUCKET}/{PREFIX}/runs/r1/features/')\n"
        f"AS\nSELECT id, age AS label FROM {table_name(STAGING)}"
    ]
    # CTAS needs an empty location and a free table name: both were cleared first.
    assert s3_store.list("runs/r1/features/") == []
    assert glue.get(working_table(FEATURES)) is None  # (moto's CTAS creates no table)
    assert stats.rows is None and stats.bytes_scanned == 0


@pytest.mark.usefixtures("staged")
def test_results_never_touch_the_published_table(engine: AthenaSqlEngine, glue: GlueTables) -> None:
    """The layout names a run's results after the published table; the engine's own table differs."""
    glue.create(glue.table_input("ages", [("id", "string")], "results/ages/run_id=r0/"))
    results = TableRef("ages", "results/ages/run_id=r1/")
    engine.materialize(results, "SELECT * FROM {{ staging }}", {"staging": STAGING}, sql_name="aggregation")
    assert glue.get("ages") is not None
    assert working_table(results) != "ages" and working_table(results).startswith("ages__")


class CtasRegistersItsTable:
    """moto's Athena with one part of Athena's behaviour moto lacks: a CTAS creates its Glue
    table (with its partitions). The statements still go to moto, which records them."""

    def __init__(self, athena: AthenaClient, glue: GlueTables, columns: list[tuple[str, str]], chunks: int) -> None:
        self.athena, self.glue, self.columns, self.chunks = athena, glue, columns, chunks

    def __getattr__(self, name: str) -> object:
        return getattr(self.athena, name)

    def start_query_execution(self, **request: object) -> object:
        match = re.match(r'CREATE TABLE "[^"]+"\."([^"]+)"', str(request["QueryString"]))
        if match and "batchml_chunk" in str(request["QueryString"]):
            location = staging_ref(SCORING).location
            self.glue.create(
                self.glue.table_input(match.group(1), self.columns, location, [("batchml_chunk", "string")])
            )
            self.glue.add_partitions(
                match.group(1), "batchml_chunk", [str(c) for c in range(self.chunks)], self.columns, location
            )
        return self.athena.start_query_execution(**request)  # type: ignore[arg-type]


@pytest.mark.usefixtures("staged")
def test_a_partitioned_target_is_written_in_chunks_each_reading_only_its_own(
    athena_client: AthenaClient, glue: GlueTables, s3_client: S3Client, s3_store: S3ObjectStore
) -> None:
    """Athena writes at most 100 partitions per statement: 250 batches go out as one staging
    CTAS partitioned by chunk, then one INSERT per chunk that reads only that chunk (an INSERT
    per 100 partitions over an unpartitioned staging table read the whole table each time)."""
    columns = [("batch", "string"), ("id", "string"), ("age", "double")]
    client = CtasRegistersItsTable(athena_client, glue, columns, chunks=3)
    engine = AthenaSqlEngine(client, glue, s3_client, s3_store, workgroup="primary")  # type: ignore[arg-type]
    select = "SELECT lpad(CAST(mod(length(id), 250) AS varchar), 5, '0') AS batch, * FROM {{ staging }}"
    engine.materialize(SCORING, select, {"staging": STAGING}, sql_name="plan")
    stage = staging_ref(SCORING)
    assert stage.location == "runs/r1/scoring/_ctas/"  # inside the target: removed with it
    first, *inserts = sent()
    assert first.startswith(f"CREATE TABLE {table_name(stage)}\n")
    assert "partitioned_by = ARRAY['batchml_chunk']" in first
    assert 'CAST(floor(CAST("batch" AS double) / 100) AS bigint) AS batchml_chunk' in first
    assert first.endswith(f"FROM {table_name(STAGING)}) AS rows")
    assert sorted(inserts) == [  # sent from parallel threads
        f'INSERT INTO {table_name(SCORING)}\nSELECT "id", "age", "batch" FROM {table_name(stage)} '
        f"WHERE batchml_chunk = {chunk}"
        for chunk in range(3)
    ]
    target = glue.get(working_table(SCORING))
    assert target is not None and [k["Name"] for k in target["PartitionKeys"]] == ["batch"]
    # The staging table stays for a stage invoked again; it goes with the target (forget, cleanup).
    assert glue.get(working_table(stage)) is not None
    assert engine.forget(SCORING) and glue.get(working_table(stage)) is None


def test_prediction_files_are_registered_with_their_partitions(
    engine: AthenaSqlEngine, glue: GlueTables, s3_store: S3ObjectStore
) -> None:
    """Prediction tasks write Parquet straight to S3: the engine registers table and partitions."""
    for batch in (0, 1):
        table = pa.table({"id": [f"id{batch}"], "value": [1.5], "value_source": ["ML_PREDICTION"]})
        put_parquet(s3_store, f"runs/r1/predictions/batch={batch:05d}/part.parquet", table)
    canned([("batch", "varchar"), ("n", "bigint")], [["00000", "1"], ["00001", "1"]])
    counts = engine.query(
        "SELECT batch, count(*) AS n FROM {{ predictions }} GROUP BY batch",
        {"predictions": PREDICTIONS},
        sql_name="aggregation check",
    )
    assert counts.to_pylist() == [{"batch": "00000", "n": 1}, {"batch": "00001", "n": 1}]
    name = working_table(PREDICTIONS)
    table = glue.get(name)
    assert table is not None
    assert [k["Name"] for k in table["PartitionKeys"]] == ["batch"]
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == ["id", "value", "value_source"]
    assert glue.partition_values(name) == {"00000", "00001"}
    # A batch written later (a retried task) is picked up by the next query.
    put_parquet(s3_store, "runs/r1/predictions/batch=00002/part.parquet", pa.table({"id": ["x"], "value": [1.0]}))
    engine.query("SELECT count(*) AS n FROM {{ predictions }}", {"predictions": PREDICTIONS}, sql_name="check")
    assert glue.partition_values(name) == {"00000", "00001", "00002"}


def test_forget_drops_the_table_and_its_partitions_but_not_the_files(
    engine: AthenaSqlEngine, glue: GlueTables, s3_store: S3ObjectStore
) -> None:
    for batch in (0, 1):
        put_parquet(s3_store, f"runs/r1/predictions/batch={batch:05d}/part.parquet", pa.table({"id": [str(batch)]}))
    canned([("n", "bigint")], [["2"]])
    engine.query("SELECT count(*) AS n FROM {{ predictions }}", {"predictions": PREDICTIONS}, sql_name="check")
    name = working_table(PREDICTIONS)
    assert glue.partition_values(name) == {"00000", "00001"}
    assert engine.forget(PREDICTIONS) is True
    assert glue.get(name) is None  # Glue drops the partitions with the table
    assert len(s3_store.list("runs/r1/predictions/")) == 2  # deleting files is the store's business
    assert engine.forget(PREDICTIONS) is False  # nothing left to drop
    # Another location's table of the same name is a different Glue table: untouched.
    other = TableRef(PREDICTIONS.name, "runs/r2/predictions/", partitioned_by="batch")
    assert engine.forget(other) is False


def test_an_input_without_table_or_files_is_a_query_error(engine: AthenaSqlEngine) -> None:
    with pytest.raises(QueryError, match=r"no table at s3://.*runs/r1/features/") as caught:
        engine.query("SELECT * FROM {{ features }}", {"features": FEATURES}, sql_name="features check")
    assert caught.value.sql_name == "features check" and "features check" in str(caught.value)
    with pytest.raises(QueryError, match="unknown table placeholder"):
        engine.query("SELECT * FROM {{ nope }}", {"features": FEATURES}, sql_name="x")


@pytest.mark.usefixtures("staged")
def test_sample_orders_by_a_seeded_hash_of_the_key(engine: AthenaSqlEngine) -> None:
    engine.sample("SELECT * FROM {{ staging }}", {"staging": STAGING}, rows=500, key="id", seed=7, sql_name="training")
    assert sent() == [
        f"SELECT * FROM (SELECT * FROM {table_name(STAGING)}) AS population "
        """ORDER BY xxhash64(to_utf8(CAST("id" AS varchar) || '7')), "id" LIMIT 500"""
    ]


@pytest.mark.usefixtures("staged")
def test_polling_backs_off_with_the_injected_sleep(engine: AthenaSqlEngine, slept: list[float]) -> None:
    # Every second GetQueryExecution moves the query one step: QUEUED -> RUNNING -> SUCCEEDED.
    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 2})
    try:
        engine.query("SELECT 1 FROM {{ staging }}", {"staging": STAGING}, sql_name="x")
    finally:
        state_manager.unset_transition("athena::execution")
    assert slept == pytest.approx([0.2, 0.32, 0.512])


@pytest.mark.usefixtures("staged")
def test_a_failed_query_names_its_sql_file(
    athena_client: AthenaClient, glue: GlueTables, s3_client: S3Client, s3_store: S3ObjectStore
) -> None:
    """Moto never fails a query: the test fails it by setting the execution's state in moto's backend."""

    def fail_running_queries(_seconds: float) -> None:
        for execution in athena_backend().executions.values():
            execution.status = "FAILED"

    engine = AthenaSqlEngine(athena_client, glue, s3_client, s3_store, workgroup="primary", sleep=fail_running_queries)
    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 5})
    try:
        with pytest.raises(QueryError, match="FAILED: Athena gave no reason") as caught:
            engine.materialize(
                STAGING, "SELECT 1 AS x FROM {{ staging }}", {"staging": STAGING}, sql_name="staging.sql"
            )
    finally:
        state_manager.unset_transition("athena::execution")
    assert caught.value.sql_name == "staging.sql" and "staging.sql" in str(caught.value)
    assert not caught.value.transient


def test_a_tables_schema_comes_from_its_files_with_nested_types_whole(
    engine: AthenaSqlEngine, s3_store: S3ObjectStore
) -> None:
    """Athena's query results type an array column "array" and nothing more (read back as text):
    a catalog entry declared from them would say `string` for it, which Athena cannot read."""
    jobs = pa.list_(pa.struct([("title", pa.string()), ("start_year", pa.int32())]))
    table = pa.table({"id": ["a"], "jobs": pa.array([[{"title": "x", "start_year": 2001}]], jobs)})
    put_parquet(s3_store, STAGING.location + "20261204_000000_00001_abcde", table)
    s3_store.put(STAGING.location + "_SUCCESS", b"")
    assert engine.table_schema(STAGING) == table.schema
    with pytest.raises(QueryError, match="no Parquet files"):
        engine.table_schema(FEATURES)
