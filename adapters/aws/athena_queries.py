"""Running one Athena statement: start it in the workgroup, wait for it, read its result.

Every failure becomes a `domain.errors.QueryError` naming the SQL file or stage, marked
transient when a retry may help (throttling, Athena's own `Retryable` flag), so the stage's
retry policy, not this module, decides what happens next.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa
from botocore.exceptions import BotoCoreError, ClientError

from adapters.aws.athena_results import is_header, rows_text, to_table
from domain.errors import QueryError

if TYPE_CHECKING:
    from mypy_boto3_athena import AthenaClient
    from mypy_boto3_athena.type_defs import QueryExecutionTypeDef, StartQueryExecutionInputTypeDef

T = TypeVar("T")

THROTTLING_CODES = frozenset(
    {"ThrottlingException", "TooManyRequestsException", "Throttling", "RequestLimitExceeded", "SlowDown"}
)
TRANSIENT_CODES = THROTTLING_CODES | {"InternalServerException", "ServiceUnavailable", "InternalFailure"}
_TRANSIENT_REASONS = ("slowdown", "slow down", "rate exceeded", "throttl", "too many requests", "please try again")
PAGE_ROWS = 1000  # the most rows one GetQueryResults call returns


@dataclass(frozen=True)
class Finished:
    execution_id: str
    bytes_scanned: int
    seconds: float


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _failure(execution: QueryExecutionTypeDef, sql_name: str) -> QueryError:
    status = execution.get("Status", {})
    athena_error = status.get("AthenaError", {})
    reason = status.get("StateChangeReason") or athena_error.get("ErrorMessage") or "Athena gave no reason"
    if "Retryable" in athena_error:
        transient = bool(athena_error["Retryable"])
    else:
        transient = any(mark in reason.lower() for mark in _TRANSIENT_REASONS)
    where = f"Athena query {execution.get('QueryExecutionId', '?')} {status.get('State', 'FAILED')}"
    return QueryError(f"{where}: {reason}", sql_name=sql_name, transient=transient)


class AthenaQueries:
    def __init__(
        self,
        client: AthenaClient,
        *,
        workgroup: str,
        database: str,
        output_location: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        first_poll_seconds: float = 0.2,
        max_poll_seconds: float = 5.0,
        timeout_seconds: float = 3600.0,
    ) -> None:
        self.client = client
        self.workgroup, self.database, self.output_location = workgroup, database, output_location
        self.sleep, self.clock = sleep, clock
        self.first_poll_seconds, self.max_poll_seconds = first_poll_seconds, max_poll_seconds
        self.timeout_seconds = timeout_seconds

    def _call(self, sql_name: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except ClientError as exc:
            code = _code(exc)
            raise QueryError(f"Athena: {code}: {exc}", sql_name=sql_name, transient=code in TRANSIENT_CODES) from exc
        except BotoCoreError as exc:  # connection trouble: the next attempt may well get through
            raise QueryError(f"Athena unreachable: {exc}", sql_name=sql_name, transient=True) from exc

    def start(self, sql: str, *, sql_name: str) -> str:
        request: StartQueryExecutionInputTypeDef = {
            "QueryString": sql,
            "WorkGroup": self.workgroup,
            "QueryExecutionContext": {"Database": self.database},
        }
        if self.output_location:
            request["ResultConfiguration"] = {"OutputLocation": self.output_location}
        return self._call(sql_name, lambda: self.client.start_query_execution(**request))["QueryExecutionId"]

    def _status(self, execution_id: str, sql_name: str) -> QueryExecutionTypeDef | None:
        """The execution, or None when polling itself was throttled (the query runs on regardless)."""
        try:
            return self.client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
        except ClientError as exc:
            if _code(exc) in TRANSIENT_CODES:
                return None
            raise QueryError(f"Athena: {exc}", sql_name=sql_name) from exc

    def run(self, sql: str, *, sql_name: str) -> Finished:
        """Start `sql` and wait for it to end; QueryError unless it SUCCEEDED."""
        started = self.clock()
        execution_id = self.start(sql, sql_name=sql_name)
        delay = self.first_poll_seconds
        while True:
            execution = self._status(execution_id, sql_name)
            state = execution["Status"]["State"] if execution else "UNKNOWN"
            if execution is not None and state == "SUCCEEDED":
                scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes", 0))
                return Finished(execution_id, scanned, self.clock() - started)
            if execution is not None and state in ("FAILED", "CANCELLED"):
                raise _failure(execution, sql_name)
            if self.clock() - started > self.timeout_seconds:
                self._call(sql_name, lambda: self.client.stop_query_execution(QueryExecutionId=execution_id))
                raise QueryError(
                    f"Athena query {execution_id} did not finish within {self.timeout_seconds:g}s; stopped it",
                    sql_name=sql_name,
                )
            self.sleep(delay)
            delay = min(delay * 1.6, self.max_poll_seconds)

    def _page(self, execution_id: str, token: str | None, sql_name: str) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"QueryExecutionId": execution_id, "MaxResults": PAGE_ROWS}
        if token:
            kwargs["NextToken"] = token
        return dict(self._call(sql_name, lambda: self.client.get_query_results(**kwargs)))

    def _pages(self, execution_id: str, sql_name: str) -> list[dict[str, Any]]:
        pages = [self._page(execution_id, None, sql_name)]
        while pages[-1].get("NextToken"):
            pages.append(self._page(execution_id, pages[-1]["NextToken"], sql_name))
        return pages

    def results(self, execution_id: str, *, sql_name: str) -> pa.Table:
        pages = self._pages(execution_id, sql_name)
        columns = pages[0].get("ResultSet", {}).get("ResultSetMetadata", {}).get("ColumnInfo", [])
        rows: list[list[str | None]] = []
        for number, page in enumerate(pages):
            text = rows_text(page.get("ResultSet", {}).get("Rows", []))
            if number == 0 and text and is_header(text[0], columns):
                text = text[1:]
            rows += text
        return to_table(columns, rows)

    def update_count(self, execution_id: str, *, sql_name: str) -> int | None:
        """Rows a CTAS or INSERT wrote, when Athena reports it."""
        page = self._call(sql_name, lambda: self.client.get_query_results(QueryExecutionId=execution_id, MaxResults=1))
        count = page.get("UpdateCount")
        return int(count) if count is not None else None
