"""Helpers for the tests that drive the Athena emulator: a Glue database, Parquet tables put in S3
and registered in Glue the way a crawler or a CREATE EXTERNAL TABLE would, and a statement run to
its end."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, cast

import pyarrow as pa
import pyarrow.parquet as pq

from tests.integration.aws.athena_emulation.lake import PARQUET_INPUT, PARQUET_OUTPUT, PARQUET_SERDE
from tests.integration.aws.athena_emulator import AthenaEmulator
from tests.integration.aws.fixtures import BUCKET

if TYPE_CHECKING:
    from mypy_boto3_athena import AthenaClient
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_s3 import S3Client

DB = "lake_db"
OUTPUT = f"s3://{BUCKET}/athena-results/"
HIVE = {pa.string(): "string", pa.float64(): "double", pa.int64(): "bigint", pa.binary(): "binary"}


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def put_table(s3: S3Client, glue: GlueClient, name: str, table: pa.Table, *, database: str = DB) -> int:
    """One Parquet object under s3://BUCKET/tables/NAME/ and its Glue table; returns its size."""
    body = parquet_bytes(table)
    s3.put_object(Bucket=BUCKET, Key=f"tables/{name}/part-0.parquet", Body=body)
    glue.create_table(
        DatabaseName=database,
        TableInput={
            "Name": name,
            "TableType": "EXTERNAL_TABLE",
            "StorageDescriptor": {
                "Columns": [{"Name": f.name, "Type": HIVE[f.type]} for f in table.schema],
                "Location": f"s3://{BUCKET}/tables/{name}/",
                "InputFormat": PARQUET_INPUT,
                "OutputFormat": PARQUET_OUTPUT,
                "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE},
            },
            "PartitionKeys": [],
        },
    )
    return len(body)


def as_client(athena: AthenaEmulator) -> AthenaClient:
    """The emulator where the code takes a boto3 Athena client: duck-typed, so a cast for mypy."""
    return cast("AthenaClient", athena)


def start(athena: AthenaEmulator, sql: str, **request: Any) -> str:
    request = {"WorkGroup": "primary", "QueryExecutionContext": {"Database": DB}, **request}
    return str(athena.start_query_execution(QueryString=sql, **request)["QueryExecutionId"])


def finish(athena: AthenaEmulator, execution_id: str, polls: int = 10) -> dict[str, Any]:
    """GetQueryExecution until the query ends (a few polls at most with the default progression)."""
    for _ in range(polls):
        execution: dict[str, Any] = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
        if execution["Status"]["State"] not in ("QUEUED", "RUNNING"):
            return execution
    raise AssertionError(f"query {execution_id} still {execution['Status']['State']} after {polls} polls")


def run(athena: AthenaEmulator, sql: str, **request: Any) -> dict[str, Any]:
    return finish(athena, start(athena, sql, **request))


def values(athena: AthenaEmulator, execution_id: str) -> list[list[str | None]]:
    """Every row of every page as text (header row included), as GetQueryResults gives them."""
    rows: list[list[str | None]] = []
    token = None
    while True:
        page = athena.get_query_results(QueryExecutionId=execution_id, **({"NextToken": token} if token else {}))
        rows += [[cell.get("VarCharValue") for cell in row["Data"]] for row in page["ResultSet"]["Rows"]]
        token = page.get("NextToken")
        if not token:
            return rows
