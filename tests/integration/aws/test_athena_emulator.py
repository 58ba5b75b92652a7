"""The Athena emulator against what Athena documents: real results in Athena's shape, the query
lifecycle, CTAS/INSERT/SELECT round trips, and each limit reproduced the way Athena reports it.
moto's own Athena is the contrast: it runs no SQL at all."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pytest
from botocore.exceptions import ClientError

from adapters.aws.athena_queries import AthenaQueries
from domain.errors import QueryError
from tests.integration.aws.athena_emulation.errors import NotEmulated
from tests.integration.aws.athena_emulation.limits import (
    ACTIVE_DML_QUERIES_US_EAST_1,
    MAX_PARTITIONS_PER_CTAS,
    MAX_QUERY_STRING_BYTES,
)
from tests.integration.aws.athena_emulation.workgroup import deployed_workgroup
from tests.integration.aws.athena_emulator import AthenaEmulator, EmulatedClock, Progression, WorkGroup
from tests.integration.aws.emulator_support import DB, OUTPUT, as_client, finish, put_table, run, start, values
from tests.integration.aws.fixtures import BUCKET

if TYPE_CHECKING:
    from mypy_boto3_athena import AthenaClient
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration

PEOPLE = pa.table(
    {
        "id": ["a", "b", "c", "d"],
        "age": [31.0, None, 1e-5, 64.5],
        "city": ["Lyon", "Oslo", "Lyon", None],
    }
)
CTAS = (
    "CREATE TABLE \"lake_db\".\"by_city\" WITH (format = 'PARQUET', write_compression = 'SNAPPY', "
    "external_location = 's3://batchml-lake/tables/by_city/', partitioned_by = ARRAY['city']) AS "
    'SELECT id, age, city FROM "lake_db"."people"'
)


@pytest.fixture
def people(s3_client: S3Client, glue_client: GlueClient) -> int:
    glue_client.create_database(DatabaseInput={"Name": DB})
    return put_table(s3_client, glue_client, "people", PEOPLE)


@pytest.fixture
def athena(s3_client: S3Client, glue_client: GlueClient) -> AthenaEmulator:
    return AthenaEmulator(s3_client, glue_client, workgroups=[WorkGroup(output_location=OUTPUT)])


def emulator(s3: S3Client, glue: GlueClient, **options: Any) -> AthenaEmulator:
    options.setdefault("workgroups", [WorkGroup(output_location=OUTPUT)])
    return AthenaEmulator(s3, glue, **options)


def keys(s3: S3Client, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def refused(call: Any, code: str) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["Error"]["Code"] == code
    return caught.value


# -- what moto could not do -------------------------------------------------------------------


@pytest.mark.usefixtures("people")
def test_garbage_sql_fails_where_motos_athena_succeeds(athena: AthenaEmulator, athena_client: AthenaClient) -> None:
    moto_id = athena_client.start_query_execution(
        QueryString="SELEC garbage", ResultConfiguration={"OutputLocation": OUTPUT}
    )["QueryExecutionId"]
    assert athena_client.get_query_execution(QueryExecutionId=moto_id)["QueryExecution"]["Status"]["State"] == (
        "SUCCEEDED"
    )
    status = run(athena, "SELEC garbage")["Status"]
    assert status["State"] == "FAILED" and status["StateChangeReason"].startswith("SYNTAX_ERROR: ")
    assert status["AthenaError"] == {
        "ErrorCategory": 2,
        "ErrorType": 1006,
        "Retryable": False,
        "ErrorMessage": status["StateChangeReason"],
    }
    missing = run(athena, "SELECT * FROM nope")["Status"]
    assert missing["StateChangeReason"] == "TABLE_NOT_FOUND: Table 'awsdatacatalog.lake_db.nope' does not exist"
    # A statement Athena runs but the emulator does not fails the test itself, never passes quietly.
    with pytest.raises(NotEmulated):
        start(athena, "ALTER TABLE people ADD PARTITION (city = 'Oslo')")


# -- results ----------------------------------------------------------------------------------


def test_a_select_answers_in_athenas_shape(athena: AthenaEmulator, people: int) -> None:
    execution = run(
        athena,
        "SELECT id, age, count(*) OVER () AS n, CAST(NULL AS varchar) AS nothing, DATE '2024-02-29' AS day, "
        "ARRAY[1, 2] AS pair, age > 30, CAST(age AS decimal(6, 2)) AS exact FROM people ORDER BY id",
    )
    assert execution["Status"]["State"] == "SUCCEEDED"
    assert execution["StatementType"] == "DML" and execution["SubstatementType"] == "SELECT"
    assert execution["Statistics"]["DataScannedInBytes"] == people  # the whole object it read
    page = athena.get_query_results(QueryExecutionId=execution["QueryExecutionId"])
    info = page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    assert [(c["Name"], c["Type"]) for c in info] == [
        ("id", "varchar"),
        ("age", "double"),
        ("n", "bigint"),
        ("nothing", "varchar"),
        ("day", "date"),
        ("pair", "array"),
        ("_col6", "boolean"),  # Trino's label for an expression without an alias
        ("exact", "decimal"),
    ]
    assert (info[-1]["Precision"], info[-1]["Scale"]) == (6, 2)
    assert values(athena, execution["QueryExecutionId"]) == [
        ["id", "age", "n", "nothing", "day", "pair", "_col6", "exact"],  # the labels come first
        ["a", "31.0", "4", None, "2024-02-29", "[1, 2]", "true", "31.00"],
        ["b", None, "4", None, "2024-02-29", "[1, 2]", None, None],
        ["c", "1.0E-5", "4", None, "2024-02-29", "[1, 2]", "false", "0.00"],  # Java's double text
        ["d", "64.5", "4", None, "2024-02-29", "[1, 2]", "true", "64.50"],
    ]
    # A NULL is a cell without VarCharValue, as Athena sends it.
    assert page["ResultSet"]["Rows"][2]["Data"][1] == {}


@pytest.mark.usefixtures("people")
def test_results_come_in_pages_of_at_most_1000_rows(athena: AthenaEmulator) -> None:
    execution_id = run(athena, "SELECT x FROM UNNEST(sequence(1, 2500)) AS t(x) ORDER BY x")["QueryExecutionId"]
    first = athena.get_query_results(QueryExecutionId=execution_id, MaxResults=1000)
    assert len(first["ResultSet"]["Rows"]) == 1000 and first["ResultSet"]["Rows"][0]["Data"] == [{"VarCharValue": "x"}]
    second = athena.get_query_results(QueryExecutionId=execution_id, MaxResults=1000, NextToken=first["NextToken"])
    third = athena.get_query_results(QueryExecutionId=execution_id, MaxResults=1000, NextToken=second["NextToken"])
    assert [len(p["ResultSet"]["Rows"]) for p in (second, third)] == [1000, 501] and "NextToken" not in third
    refused(lambda: athena.get_query_results(QueryExecutionId=execution_id, MaxResults=1001), "InvalidRequestException")
    # The adapter reads every page and drops the header once.
    table = AthenaQueries(as_client(athena), workgroup="primary", database=DB).results(execution_id, sql_name="pages")
    assert table.column("x").to_pylist() == list(range(1, 2501))


def test_ctas_insert_and_select_round_trip(
    athena: AthenaEmulator, people: int, s3_client: S3Client, glue_client: GlueClient
) -> None:
    created = run(athena, CTAS)
    assert created["Status"]["State"] == "SUCCEEDED"
    assert created["SubstatementType"] == "CREATE_TABLE_AS_SELECT"
    assert athena.get_query_results(QueryExecutionId=created["QueryExecutionId"])["UpdateCount"] == 4
    table = glue_client.get_table(DatabaseName=DB, Name="by_city")["Table"]
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [
        ("id", "string"),
        ("age", "double"),
    ]
    assert [(c["Name"], c["Type"]) for c in table.get("PartitionKeys", [])] == [("city", "string")]
    written = keys(s3_client, "tables/by_city/")
    # Hive folders; a NULL key goes to Hive's default partition; Athena's files have no extension.
    assert [k.rsplit("/", 1)[0] for k in written] == [
        "tables/by_city/city=Lyon",
        "tables/by_city/city=Oslo",
        "tables/by_city/city=__HIVE_DEFAULT_PARTITION__",
    ] and not any(k.endswith(".parquet") for k in written)
    inserted = run(athena, "INSERT INTO by_city SELECT 'e', 7.0, 'Rome' UNION ALL SELECT 'f', 8.0, 'Lyon'")
    assert athena.get_query_results(QueryExecutionId=inserted["QueryExecutionId"])["UpdateCount"] == 2
    partitions = glue_client.get_partitions(DatabaseName=DB, TableName="by_city")["Partitions"]
    assert sorted(p["Values"][0] for p in partitions) == ["Lyon", "Oslo", "Rome", "__HIVE_DEFAULT_PARTITION__"]
    selected = run(athena, "SELECT city, count(*) AS n, sum(age) AS total FROM by_city GROUP BY city ORDER BY city")
    assert values(athena, selected["QueryExecutionId"])[1:] == [
        ["Lyon", "3", "39.00001"],
        ["Oslo", "1", None],
        ["Rome", "1", "7.0"],
        [None, "1", "64.5"],
    ]
    # Only what Glue registers is read: a partition folder nobody registered stays invisible.
    s3_client.put_object(Bucket=BUCKET, Key="tables/by_city/city=Paris/part", Body=b"not read")
    again = run(athena, "SELECT count(*) FROM by_city")
    assert values(athena, again["QueryExecutionId"])[1:] == [["6"]]


@pytest.mark.usefixtures("people")
def test_a_view_is_expanded_and_a_dropped_table_keeps_its_files(athena: AthenaEmulator, s3_client: S3Client) -> None:
    assert (
        run(athena, "CREATE OR REPLACE VIEW adults AS SELECT id FROM people WHERE age > 30")["StatementType"] == "DDL"
    )
    assert values(athena, run(athena, "SELECT count(*) AS n FROM adults")["QueryExecutionId"])[1:] == [["2"]]
    assert run(athena, "DROP VIEW adults")["Status"]["State"] == "SUCCEEDED"
    assert run(athena, "DROP TABLE people")["Status"]["State"] == "SUCCEEDED"
    assert run(athena, "SELECT * FROM people")["Status"]["State"] == "FAILED"
    assert keys(s3_client, "tables/people/") == ["tables/people/part-0.parquet"]  # an external table's data stays


# -- the lifecycle ----------------------------------------------------------------------------


@pytest.mark.usefixtures("people")
def test_a_query_walks_queued_running_succeeded(s3_client: S3Client, glue_client: GlueClient) -> None:
    athena = emulator(s3_client, glue_client, progression=Progression(queued_polls=1, running_polls=2))
    execution_id = start(athena, "SELECT count(*) FROM people")
    refused(lambda: athena.get_query_results(QueryExecutionId=execution_id), "InvalidRequestException")
    states = [athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"] for _ in range(4)]
    assert [s["Status"]["State"] for s in states] == ["QUEUED", "RUNNING", "RUNNING", "SUCCEEDED"]
    assert "CompletionDateTime" in states[-1]["Status"] and "CompletionDateTime" not in states[0]["Status"]
    # The default progression: finished by the first poll.
    assert run(emulator(s3_client, glue_client), "SELECT 1")["Status"]["State"] == "SUCCEEDED"


@pytest.mark.usefixtures("people")
def test_stop_cancels_a_query_before_it_writes(
    s3_client: S3Client, glue_client: GlueClient, athena_client: AthenaClient
) -> None:
    athena = emulator(s3_client, glue_client, progression=Progression(running_polls=2))
    execution_id = start(athena, CTAS)
    assert athena.stop_query_execution(QueryExecutionId=execution_id) == {}
    assert finish(athena, execution_id)["Status"]["State"] == "CANCELLED"
    assert keys(s3_client, "tables/by_city/") == []
    refused(lambda: glue_client.get_table(DatabaseName=DB, Name="by_city"), "EntityNotFoundException")


@pytest.mark.usefixtures("people")
def test_a_client_request_token_starts_one_query(athena: AthenaEmulator) -> None:
    token = "t" * 32
    first = start(athena, "SELECT count(*) FROM people", ClientRequestToken=token)
    assert start(athena, "SELECT count(*) FROM people", ClientRequestToken=token) == first
    assert len(athena.executions) == 1
    refused(lambda: start(athena, "SELECT 2", ClientRequestToken=token), "InvalidRequestException")


def test_get_work_group_returns_its_configuration(s3_client: S3Client, glue_client: GlueClient) -> None:
    workgroup = WorkGroup("analytics", enforce=True, output_location=OUTPUT, bytes_scanned_cutoff=10_485_760)
    athena = emulator(s3_client, glue_client, workgroups=[workgroup])
    configuration = athena.get_work_group(WorkGroup="analytics")["WorkGroup"]["Configuration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["ResultConfiguration"] == {"OutputLocation": OUTPUT}
    assert configuration["BytesScannedCutoffPerQuery"] == 10_485_760
    refused(lambda: athena.get_work_group(WorkGroup="primary"), "InvalidRequestException")
    with pytest.raises(ValueError, match="at least"):  # Athena's minimum cutoff
        WorkGroup(bytes_scanned_cutoff=1_000_000)


def test_the_deployed_workgroup_is_read_from_terraform() -> None:
    assert deployed_workgroup(BUCKET) == WorkGroup(
        "batchml-dev", enforce=False, output_location=f"s3://{BUCKET}/athena-results/", bytes_scanned_cutoff=10737418240
    )


# -- the limits -------------------------------------------------------------------------------


@pytest.mark.usefixtures("people")
def test_ctas_with_external_location_fails_in_a_workgroup_that_enforces_its_configuration(
    s3_client: S3Client, glue_client: GlueClient
) -> None:
    """https://docs.aws.amazon.com/athena/latest/ug/workgroups-troubleshooting.html"""
    enforcing = WorkGroup("enforced", enforce=True, output_location=OUTPUT)
    athena = emulator(s3_client, glue_client, workgroups=[enforcing, WorkGroup(output_location=OUTPUT)])
    status = run(athena, CTAS, WorkGroup="enforced")["Status"]
    assert status["State"] == "FAILED"
    assert status["StateChangeReason"].startswith(
        "The Create Table As Select query failed because it was submitted with an 'external_location' property "
        "to an Athena Workgroup that enforces a centralized output location for all queries."
    )
    assert keys(s3_client, "tables/by_city/") == []
    # Without external_location the table goes under the workgroup's result location.
    without = CTAS.replace("external_location = 's3://batchml-lake/tables/by_city/', ", "")
    created = run(athena, without, WorkGroup="enforced")
    assert created["Status"]["State"] == "SUCCEEDED"
    location = glue_client.get_table(DatabaseName=DB, Name="by_city")["Table"]["StorageDescriptor"]["Location"]
    assert location == f"{OUTPUT}tables/{created['QueryExecutionId']}/"
    # The same CTAS is fine in a workgroup that lets the client choose.
    assert run(athena, CTAS.replace("by_city", "by_city2"))["Status"]["State"] == "SUCCEEDED"


@pytest.mark.usefixtures("people")
def test_more_than_100_partitions_in_one_statement_fail(athena: AthenaEmulator, s3_client: S3Client) -> None:
    """https://docs.aws.amazon.com/athena/latest/ug/ctas-insert-into.html"""

    def ctas(name: str, partitions: int) -> str:
        return (
            f"CREATE TABLE {name} WITH (format = 'PARQUET', external_location = 's3://batchml-lake/tables/{name}/', "
            f"partitioned_by = ARRAY['p']) AS SELECT x, x AS p FROM UNNEST(sequence(1, {partitions})) AS t(x)"
        )

    over = run(athena, ctas("wide", MAX_PARTITIONS_PER_CTAS + 1))["Status"]
    assert over["State"] == "FAILED"
    assert over["StateChangeReason"] == (
        "HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of 100 open writers for partitions/buckets"
    )
    assert keys(s3_client, "tables/wide/") == []  # refused before writing anything
    assert run(athena, ctas("full", MAX_PARTITIONS_PER_CTAS))["Status"]["State"] == "SUCCEEDED"
    insert = "INSERT INTO full SELECT x, x AS p FROM UNNEST(sequence(1001, 1101)) AS t(x)"
    assert run(athena, insert)["Status"]["StateChangeReason"].startswith("HIVE_TOO_MANY_OPEN_PARTITIONS")


@pytest.mark.usefixtures("people")
def test_a_ctas_into_a_location_that_is_not_empty_fails(athena: AthenaEmulator, s3_client: S3Client) -> None:
    s3_client.put_object(Bucket=BUCKET, Key="tables/by_city/left-over", Body=b"an earlier attempt")
    status = run(athena, CTAS)["Status"]
    assert status["StateChangeReason"] == (
        "HIVE_PATH_ALREADY_EXISTS: Target directory for table 'lake_db.by_city' already exists: "
        "s3://batchml-lake/tables/by_city/"
    )


def test_a_query_over_the_scan_cutoff_is_cancelled(s3_client: S3Client, glue_client: GlueClient, people: int) -> None:
    """https://docs.aws.amazon.com/athena/latest/ug/workgroups-setting-control-limits-cloudwatch.html"""
    cutoff = 10_000_000  # the smallest cutoff a workgroup may have
    noise = pa.table({"blob": [os.urandom(1_000_000) for _ in range(11)]})  # incompressible: > cutoff as Parquet
    big = put_table(s3_client, glue_client, "big", noise)
    assert big > cutoff
    athena = emulator(
        s3_client, glue_client, workgroups=[WorkGroup(output_location=OUTPUT, bytes_scanned_cutoff=cutoff)]
    )
    cancelled = run(athena, "SELECT count(*) FROM big")
    assert cancelled["Status"]["State"] == "CANCELLED"
    assert cancelled["Status"]["StateChangeReason"] == "Bytes scanned limit was exceeded"
    assert "AthenaError" not in cancelled["Status"]
    assert cancelled["Statistics"]["DataScannedInBytes"] == cutoff
    assert run(athena, "SELECT count(*) FROM people")["Status"]["State"] == "SUCCEEDED"
    # The adapter reports it as a failure a retry will not fix.
    with pytest.raises(QueryError, match="CANCELLED: Bytes scanned limit was exceeded") as caught:
        AthenaQueries(as_client(athena), workgroup="primary", database=DB).run("SELECT * FROM big", sql_name="scan")
    assert not caught.value.transient


@pytest.mark.usefixtures("people")
def test_active_dml_queries_over_the_quota_are_refused(s3_client: S3Client, glue_client: GlueClient) -> None:
    """https://docs.aws.amazon.com/athena/latest/ug/service-limits.html: queued and running count."""
    athena = emulator(s3_client, glue_client, progression=Progression(queued_polls=1))
    active = [start(athena, "SELECT 1") for _ in range(ACTIVE_DML_QUERIES_US_EAST_1)]
    error = refused(lambda: start(athena, "SELECT 1"), "TooManyRequestsException")
    assert error.response.get("Reason") == "CONCURRENT_QUERY_LIMIT_EXCEEDED"
    assert "exceeded the limit for the number of queries you can run concurrently" in str(error)
    assert start(athena, "DROP TABLE IF EXISTS nothing")  # DDL has a quota of its own
    finish(athena, active[0])
    assert start(athena, "SELECT 1")  # a slot freed
    # The adapter marks the refusal as transient: the stage's retry policy tries again.
    with pytest.raises(QueryError) as caught:
        AthenaQueries(as_client(athena), workgroup="primary", database=DB).start("SELECT 1", sql_name="q")
    assert caught.value.transient


def test_a_query_string_over_262144_bytes_is_refused(athena: AthenaEmulator) -> None:
    """https://docs.aws.amazon.com/athena/latest/ug/service-limits.html: bytes of UTF-8, not characters."""
    head, tail = "SELECT '", "'"
    room = MAX_QUERY_STRING_BYTES - len(head) - len(tail)
    fits = head + "x" * (room % 2) + "é" * (room // 2) + tail  # é is two bytes in UTF-8
    assert len(fits.encode()) == MAX_QUERY_STRING_BYTES
    assert start(athena, fits)
    too_long = head + "x" * (room % 2) + "é" * (room // 2 + 1) + tail
    assert len(too_long) < MAX_QUERY_STRING_BYTES < len(too_long.encode())
    error = refused(lambda: start(athena, too_long), "InvalidRequestException")
    assert "Member must have length less than or equal to 262144" in str(error)


def test_a_query_running_past_the_dml_timeout_fails(s3_client: S3Client, glue_client: GlueClient) -> None:
    """https://docs.aws.amazon.com/athena/latest/ug/service-limits.html: 30 minutes by default."""
    clock = EmulatedClock()
    athena = emulator(
        s3_client, glue_client, clock=clock, runtime_seconds=lambda sql: 31 * 60 if "slow" in sql else 29 * 60
    )
    queries = AthenaQueries(as_client(athena), workgroup="primary", database=DB, sleep=clock.advance, clock=clock)
    assert queries.run("SELECT 'quick'", sql_name="quick").seconds == pytest.approx(29 * 60, abs=6)
    with pytest.raises(QueryError, match="FAILED: Query timeout"):
        queries.run("SELECT 'slow'", sql_name="slow")
    (slow,) = [e for e in athena.executions.values() if "slow" in e.sql]
    status = athena.get_query_execution(QueryExecutionId=slow.id)["QueryExecution"]["Status"]
    assert status["AthenaError"] == {
        "ErrorCategory": 1,
        "ErrorType": 206,
        "Retryable": False,
        "ErrorMessage": "Query timeout",
    }


def test_a_query_without_an_output_location_is_refused(s3_client: S3Client, glue_client: GlueClient) -> None:
    athena = AthenaEmulator(s3_client, glue_client)  # the primary workgroup, no result location
    error = refused(lambda: start(athena, "SELECT 1"), "InvalidRequestException")
    assert "No output location provided" in str(error)
    assert start(athena, "SELECT 1", ResultConfiguration={"OutputLocation": OUTPUT})
