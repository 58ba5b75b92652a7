"""AthenaQueries with a hand-written client, for what moto cannot do: Athena's failure reasons
and Retryable flag, scanned bytes, throttling, paginated results, a query that never ends."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import pyarrow as pa
import pytest

from adapters.aws.athena_queries import AthenaQueries
from domain.errors import QueryError
from tests.integration.aws.fake_athena import FakeAthena

if TYPE_CHECKING:
    from mypy_boto3_athena import AthenaClient


def runner(client: FakeAthena, slept: list[float] | None = None, **kwargs: Any) -> AthenaQueries:
    sleeps = slept if slept is not None else []
    return AthenaQueries(cast("AthenaClient", client), workgroup="wg", database="db", sleep=sleeps.append, **kwargs)


def test_scanned_bytes_are_reported_and_the_request_names_workgroup_and_output() -> None:
    client = FakeAthena(["QUEUED", "RUNNING", "SUCCEEDED"], scanned=123_456)
    slept: list[float] = []
    finished = AthenaQueries(
        cast("AthenaClient", client),
        workgroup="wg",
        database="db",
        output_location="s3://b/results/",
        sleep=slept.append,
    ).run("SELECT 1", sql_name="x")
    assert finished.bytes_scanned == 123_456
    assert client.started == [
        {
            "QueryString": "SELECT 1",
            "WorkGroup": "wg",
            "QueryExecutionContext": {"Database": "db"},
            "ResultConfiguration": {"OutputLocation": "s3://b/results/"},
        }
    ]
    assert slept == pytest.approx([0.2, 0.32])


def test_a_failed_query_carries_athenas_reason_and_retryable_flag() -> None:
    client = FakeAthena(
        ["RUNNING", "FAILED"],
        reason="SYNTAX_ERROR: line 3:8: Column 'agee' cannot be resolved",
        athena_error={"ErrorCategory": 2, "ErrorType": 1006, "Retryable": False},
    )
    with pytest.raises(QueryError, match="Column 'agee' cannot be resolved") as caught:
        runner(client).run("SELECT agee FROM t", sql_name="features.sql")
    assert caught.value.sql_name == "features.sql" and not caught.value.transient

    retryable = FakeAthena(["FAILED"], reason="internal error", athena_error={"ErrorCategory": 1, "Retryable": True})
    with pytest.raises(QueryError) as again:
        runner(retryable).run("SELECT 1", sql_name="staging.sql")
    assert again.value.transient


def test_a_cancelled_query_fails_too() -> None:
    with pytest.raises(QueryError, match="CANCELLED: Bytes scanned limit was exceeded") as caught:
        runner(FakeAthena(["CANCELLED"], reason="Bytes scanned limit was exceeded")).run("SELECT 1", sql_name="x")
    assert not caught.value.transient


def test_throttling_when_starting_is_transient() -> None:
    with pytest.raises(QueryError, match="ThrottlingException") as caught:
        runner(FakeAthena(throttle_starts=1)).run("SELECT 1", sql_name="batch planning")
    assert caught.value.transient and caught.value.sql_name == "batch planning"


def test_throttled_polls_are_waited_out_not_failed() -> None:
    client = FakeAthena(["SUCCEEDED"], throttle_polls=2)
    runner(client).run("SELECT 1", sql_name="x")
    assert client.polls == 3


def test_a_query_past_its_timeout_is_stopped() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    client = FakeAthena(["RUNNING"])
    queries = AthenaQueries(
        cast("AthenaClient", client),
        workgroup="wg",
        database="db",
        sleep=sleep,
        clock=lambda: now[0],
        timeout_seconds=30,
    )
    with pytest.raises(QueryError, match="did not finish within 30s"):
        queries.run("SELECT 1", sql_name="x")
    assert client.stopped == ["q1"]


def test_results_are_read_page_by_page_and_typed() -> None:
    columns = [
        {"Name": "id", "Label": "id", "Type": "varchar"},
        {"Name": "n", "Label": "n", "Type": "bigint"},
        {"Name": "ok", "Label": "ok", "Type": "boolean"},
        {"Name": "amount", "Label": "amount", "Type": "decimal", "Precision": 10, "Scale": 2},
        {"Name": "day", "Label": "day", "Type": "date"},
        {"Name": "tags", "Label": "tags", "Type": "array"},
    ]

    def row(*values: str | None) -> dict[str, Any]:
        return {"Data": [{} if v is None else {"VarCharValue": v} for v in values]}

    pages = [
        {
            "ResultSet": {
                "ResultSetMetadata": {"ColumnInfo": columns},
                "Rows": [
                    row("id", "n", "ok", "amount", "day", "tags"),
                    row("a", "1", "true", "12.50", "2024-02-29", "[x, y]"),
                ],
            }
        },
        {
            "ResultSet": {
                "ResultSetMetadata": {"ColumnInfo": columns},
                "Rows": [row("b", None, "false", None, None, None)],
            }
        },
    ]
    client = FakeAthena(pages=pages)
    table = runner(client).results("q1", sql_name="x")
    assert table.schema.types == [pa.string(), pa.int64(), pa.bool_(), pa.decimal128(10, 2), pa.date32(), pa.string()]
    assert table.column("id").to_pylist() == ["a", "b"]
    assert table.column("n").to_pylist() == [1, None]
    assert table.column("tags").to_pylist() == ["[x, y]", None]


def test_an_empty_result_keeps_its_schema() -> None:
    columns = [{"Name": "id", "Label": "id", "Type": "varchar"}, {"Name": "age", "Label": "age", "Type": "double"}]
    pages = [
        {
            "ResultSet": {
                "ResultSetMetadata": {"ColumnInfo": columns},
                "Rows": [{"Data": [{"VarCharValue": "id"}, {"VarCharValue": "age"}]}],
            }
        }
    ]
    table = runner(FakeAthena(pages=pages)).results("q1", sql_name="x")
    assert table.num_rows == 0 and table.schema == pa.schema([("id", pa.string()), ("age", pa.float64())])


def test_update_count_reads_rows_written() -> None:
    assert runner(FakeAthena(pages=[{"UpdateCount": 42, "ResultSet": {}}])).update_count("q1", sql_name="x") == 42
    assert runner(FakeAthena(pages=[{"ResultSet": {}}])).update_count("q1", sql_name="x") is None


def test_a_query_cancelled_by_the_scan_cap_names_the_setting_and_is_not_retried() -> None:
    client = FakeAthena(["RUNNING", "CANCELLED"], reason="Query cancelled! : Bytes scanned limit was exceeded")
    with pytest.raises(QueryError, match="athena_bytes_scanned_cutoff") as failed:
        runner(client).run("SELECT * FROM raw", sql_name="staging.sql")
    assert failed.value.transient is False


def test_an_array_of_numbers_comes_back_as_a_list_of_doubles() -> None:
    """approx_percentile with an array of levels: Athena returns `[0.5, 1.25]` as text; the run's
    distribution read it as characters (found by the emulated-AWS pipeline test)."""
    from adapters.aws.athena_results import to_table

    columns = [{"Name": "q", "Type": "array"}, {"Name": "tags", "Type": "array"}]
    table = to_table(columns, [["[0.5, 1.25]", "[a, b]"], [None, "[]"]])
    assert table.column("q").to_pylist() == [[0.5, 1.25], None]
    assert table.column("tags").to_pylist() == ["[a, b]", "[]"]  # not numbers: kept as Athena shows them
