"""Running one Athena statement: start it in the workgroup, wait for it, read its result.

Every failure becomes a `domain.errors.QueryError` naming the SQL file or stage, marked
transient when a retry may help (throttling, Athena's own `Retryable` flag), so the stage's
retry policy, not this module, decides what happens next.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pyarrow as pa
from botocore.exceptions import BotoCoreError, ClientError

from adapters.aws.athena_results import is_header, rows_text, to_table
from adapters.aws.statement_journal import Entry, StatementJournal, token
from domain.errors import QueryError, StillRunning

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
# How Athena words a query cancelled by the workgroup's BytesScannedCutoffPerQuery
# (https://docs.aws.amazon.com/athena/latest/ug/workgroups-setting-control-limits-cloudwatch.html).
SCAN_LIMIT_MESSAGE = "bytes scanned limit was exceeded"


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
    if SCAN_LIMIT_MESSAGE in reason.lower():  # the workgroup's cap: a retry scans as much again
        reason += (
            " (the workgroup's per-query scan cap: raise the Terraform variable athena_bytes_scanned_cutoff; "
            "`batchml plan SPEC --backend aws` says how far)"
        )
        transient = False
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
        encryption: Mapping[str, str] | None = None,
        journal: StatementJournal | None = None,
        wait_seconds: float | None = None,
    ) -> None:
        self.client = client
        self.encryption = encryption
        self.journal = journal
        # How long this process may wait for statements in all: a Lambda stage returns when it
        # has waited this long and is invoked again (None: wait to the end, as the CLI does).
        self.deadline = None if wait_seconds is None else clock() + wait_seconds
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

    def start(self, sql: str, *, sql_name: str, token: str | None = None) -> str:
        request: StartQueryExecutionInputTypeDef = {
            "QueryString": sql,
            "WorkGroup": self.workgroup,
            "QueryExecutionContext": {"Database": self.database},
        }
        if self.output_location:
            # The workgroup does not enforce its settings (a CTAS naming its own location would
            # fail in one that does), so where results go and how they are encrypted is said here.
            result: dict[str, Any] = {"OutputLocation": self.output_location}
            if self.encryption:
                result["EncryptionConfiguration"] = dict(self.encryption)
            request["ResultConfiguration"] = result  # type: ignore[typeddict-item]
        if token:
            request["ClientRequestToken"] = token
        return self._call(sql_name, lambda: self.client.start_query_execution(**request))["QueryExecutionId"]

    def _status(self, execution_id: str, sql_name: str) -> QueryExecutionTypeDef | None:
        """The execution, or None when polling itself was throttled (the query runs on regardless)."""
        try:
            return self.client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
        except ClientError as exc:
            if _code(exc) in TRANSIENT_CODES:
                return None
            raise QueryError(f"Athena: {exc}", sql_name=sql_name) from exc

    def run(
        self,
        sql: str,
        *,
        sql_name: str,
        before_start: Callable[[], None] | None = None,
        before_retry: Callable[[], None] | None = None,
    ) -> Finished:
        """Run `sql` to its end; QueryError unless it SUCCEEDED. `before_start` (clearing a CTAS's
        location) runs only when the statement is really started, never while an earlier start
        of it is still running or after it succeeded (see statement_journal.py); `before_retry`
        only when it is started again after an earlier start failed (removing what a failed
        INSERT left). With a wait budget, StillRunning when the budget ends first: the caller
        is invoked again later."""
        if self.journal is None:
            if before_start:
                before_start()
            return self._wait(self.start(sql, sql_name=sql_name), sql_name, self.clock())
        key = self.journal.key(sql)
        entry = self.journal.get(key)
        if entry is not None:
            execution_id = entry.execution_id or self.start(sql, sql_name=sql_name, token=entry.token)
            execution = self._status(execution_id, sql_name)
            state = execution["Status"]["State"] if execution else "UNKNOWN"
            if state not in ("FAILED", "CANCELLED"):  # succeeded, or still on its way: follow it
                if entry.execution_id is None:
                    self.journal.put(key, Entry(entry.token, entry.generation, execution_id))
                return self._wait(execution_id, sql_name, self.clock())
            entry = Entry(token(key, entry.generation + 1), entry.generation + 1)
            if before_retry:
                before_retry()
        else:
            entry = Entry(token(key, 0))
        if before_start:
            before_start()
        self.journal.put(key, entry)
        execution_id = self.start(sql, sql_name=sql_name, token=entry.token)
        self.journal.put(key, Entry(entry.token, entry.generation, execution_id))
        return self._wait(execution_id, sql_name, self.clock())

    def _wait(self, execution_id: str, sql_name: str, started: float) -> Finished:
        delay = self.first_poll_seconds
        while True:
            execution = self._status(execution_id, sql_name)
            state = execution["Status"]["State"] if execution else "UNKNOWN"
            if execution is not None and state == "SUCCEEDED":
                statistics = execution.get("Statistics", {})
                scanned = int(statistics.get("DataScannedInBytes", 0))
                # Athena's own time for the statement, also when an earlier invocation started it.
                millis = statistics.get("TotalExecutionTimeInMillis")
                seconds = millis / 1000 if millis is not None else self.clock() - started
                return Finished(execution_id, scanned, seconds)
            if execution is not None and state in ("FAILED", "CANCELLED"):
                raise _failure(execution, sql_name)
            if self.deadline is not None and self.clock() >= self.deadline:
                raise StillRunning(f"{sql_name}: Athena query {execution_id} is still {state.lower()}")
            if self.clock() - started > self.timeout_seconds:
                self._call(sql_name, lambda: self.client.stop_query_execution(QueryExecutionId=execution_id))
                raise QueryError(
                    f"Athena query {execution_id} did not finish within {self.timeout_seconds:g}s; stopped it",
                    sql_name=sql_name,
                )
            pause = delay if self.deadline is None else min(delay, max(self.deadline - self.clock(), 0.0))
            self.sleep(pause)
            delay = min(delay * 1.6, self.max_poll_seconds)

    def _stop(self, execution_id: str) -> None:
        self._call("stop", lambda: self.client.stop_query_execution(QueryExecutionId=execution_id))

    def stop_unfinished(self) -> int:
        """Stop every journalled statement still queued or running (its stage timed out):
        none may go on writing where a retry or a resume will write. Returns how many."""
        if self.journal is None:
            return 0
        stopped = 0
        for entry in self.journal.entries():
            execution = self._status(entry.execution_id, "stop") if entry.execution_id else None
            if execution is not None and execution["Status"]["State"] in ("QUEUED", "RUNNING"):
                self._stop(entry.execution_id or "")
                stopped += 1
        return stopped

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
