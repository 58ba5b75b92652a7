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
from tests.integration.aws.athena_support import athena_backend, canned, no_result, put_parquet, sent
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


@pytest.mark.usefixtures("staged")
def test_a_partitioned_target_is_written_100_partitions_per_statement(
    engine: AthenaSqlEngine, glue: GlueTables, s3_store: S3ObjectStore
) -> None:
    no_result()  # the staging CTAS
    canned([("v", "varchar")], [[f"{b:05d}"] for b in reversed(range(250))])  # SELECT DISTINCT
    engine.materialize(SCORING, "SELECT *, '00000' AS batch FROM {{ staging }}", {"staging": STAGING}, sql_name="plan")
    statements = sent()
    stage = staging_ref(SCORING)
    assert stage.location == "runs/r1/_ctas_scoring/"
    assert statements[0].startswith(f"CREATE TABLE {table_name(stage)}\n")
    assert "partitioned_by" not in statements[0] and statements[0].endswith(f"FROM {table_name(STAGING)}")
    assert statements[1] == f'SELECT DISTINCT CAST("batch" AS varchar) AS v FROM {table_name(stage)}'
    assert statements[2].startswith(f"CREATE TABLE {table_name(SCORING)}\n")
    assert "partitioned_by = ARRAY['batch']" in statements[2]
    inserts = statements[3:]
    assert len(inserts) == 2 and all(s.startswith(f"INSERT INTO {table_name(SCORING)}\n") for s in inserts)
    written = [re.findall(r"'(\d{5})'", s) for s in statements[2:]]
    assert sorted(len(w) for w in written) == [50, 100, 100]
    assert sorted(v for w in written for v in w) == [f"{b:05d}" for b in range(250)]
    assert written[0] == [f"{b:05d}" for b in range(100)]  # the CTAS takes the first values
    # The staging table is gone afterwards, table and files.
    assert glue.get(working_table(stage)) is None
    assert s3_store.list(stage.location) == []


@pytest.mark.usefixtures("staged")
def test_the_partition_column_is_written_last(
    athena_client: AthenaClient, glue: GlueTables, s3_client: S3Client, s3_store: S3ObjectStore
) -> None:
    stage = staging_ref(SCORING)

    def athena_registers_the_staged_table(_seconds: float) -> None:
        # Athena's CTAS creates its Glue table (moto's does not): the test plays that part.
        columns = [("batch", "string"), ("id", "string"), ("age", "double")]
        glue.create(glue.table_input(working_table(stage), columns, stage.location))

    engine = AthenaSqlEngine(
        athena_client, glue, s3_client, s3_store, workgroup="primary", sleep=athena_registers_the_staged_table
    )
    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 1})
    no_result()
    canned([("v", "varchar")], [["00000"]])
    try:
        engine.materialize(SCORING, "SELECT '00000' AS batch, * FROM {{ staging }}", {"staging": STAGING}, sql_name="p")
    finally:
        state_manager.unset_transition("athena::execution")
    assert f'AS\nSELECT "id", "age", "batch" FROM {table_name(stage)} WHERE' in sent()[2]


@pytest.mark.usefixtures("staged")
def test_an_empty_partitioned_result_still_gets_its_table(engine: AthenaSqlEngine) -> None:
    no_result()
    canned([("v", "varchar")], [])
    engine.materialize(SCORING, "SELECT *, 'x' AS batch FROM {{ staging }}", {"staging": STAGING}, sql_name="plan")
    statements = sent()
    assert len(statements) == 3 and statements[2].endswith("WHERE TRUE")


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
