"""An Athena client that runs the SQL: a stand-in for a boto3 Athena client (the calls and fields
adapters/aws/athena_queries.py and athena_engine.py use) that executes each statement with DuckDB
over the Parquet in moto's S3 and the tables in moto's Glue, and holds it to Athena's limits.

moto's own Athena runs no SQL (every query SUCCEEDS with no rows, garbage included) and enforces no
limit, so code that passed against it could still be code Athena rejects (issue 13). Here:

- statements: SELECT, CTAS (Parquet, Hive partitions, the table and partitions registered in Glue),
  INSERT INTO, CREATE [OR REPLACE] VIEW, DROP TABLE / VIEW; results in GetQueryResults' shape;
- lifecycle: QUEUED -> RUNNING -> SUCCEEDED / FAILED / CANCELLED over a configurable number of
  polls per state (default: finished by the first poll) and an emulated clock; StopQueryExecution;
  ClientRequestToken idempotency; GetWorkGroup;
- limits, their values from adapters/aws/limits.py: a CTAS with external_location in a workgroup
  that enforces its configuration, over 100 partitions per CTAS/INSERT, a CTAS into a location that
  is not empty, the workgroup's bytes-scanned cutoff, the active DML query quota, the query string
  length, the DML query timeout.

DataScannedInBytes counts the whole Parquet objects of every table a statement names (Athena counts
only the columns and row groups it reads): an upper bound of what Athena would report.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from tests.integration.aws.athena_emulation import errors
from tests.integration.aws.athena_emulation.errors import ATHENA_EXCEPTIONS, AthenaFailure
from tests.integration.aws.athena_emulation.lake import Lake
from tests.integration.aws.athena_emulation.lifecycle import ACTIVE, EmulatedClock, Execution, Progression
from tests.integration.aws.athena_emulation.limits import (
    ACTIVE_DML_QUERIES_US_EAST_1,
    DML_QUERY_TIMEOUT_SECONDS,
    MAX_QUERY_STRING_BYTES,
    MAX_RESULTS_PER_PAGE,
)
from tests.integration.aws.athena_emulation.results import ResultPages
from tests.integration.aws.athena_emulation.runner import Context, execute
from tests.integration.aws.athena_emulation.statements import Statement, parse
from tests.integration.aws.athena_emulation.workgroup import WorkGroup

if TYPE_CHECKING:
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_s3 import S3Client

NO_WAIT = Progression()  # every query finished by the first poll

__all__ = ["AthenaEmulator", "EmulatedClock", "Progression", "WorkGroup"]

# https://docs.aws.amazon.com/athena/latest/ug/service-limits.html (the message the API gives when
# the concurrent query quota is exceeded).
TOO_MANY_QUERIES = (
    "You have exceeded the limit for the number of queries you can run concurrently. Reduce the number of "
    "concurrent queries submitted by this account. Contact customer support to request a concurrent query "
    "limit increase."
)
# https://docs.aws.amazon.com/athena/latest/ug/workgroups-troubleshooting.html
NO_OUTPUT_LOCATION = (
    "No output location provided. An output location is required either through the Workgroup result "
    "configuration setting or as an API input."
)


class AthenaEmulator:
    exceptions = ATHENA_EXCEPTIONS

    def __init__(
        self,
        s3: S3Client,
        glue: GlueClient,
        *,
        workgroups: Sequence[WorkGroup] = (WorkGroup(),),
        progression: Progression = NO_WAIT,
        clock: EmulatedClock | None = None,
        dml_quota: int = ACTIVE_DML_QUERIES_US_EAST_1,
        dml_timeout_seconds: float = DML_QUERY_TIMEOUT_SECONDS,
        runtime_seconds: Callable[[str], float] = lambda _sql: 0.0,
    ) -> None:
        self.lake = Lake(s3, glue)
        self.workgroups = {w.name: w for w in workgroups}
        self.progression, self.clock = progression, clock or EmulatedClock()
        self.dml_quota, self.dml_timeout_seconds, self.runtime_seconds = dml_quota, dml_timeout_seconds, runtime_seconds
        self.executions: dict[str, Execution] = {}
        self._tokens: dict[str, str] = {}
        self._epoch = dt.datetime.now(dt.UTC)
        self._lock = threading.RLock()  # the engine polls from several threads at once

    # -- StartQueryExecution ---------------------------------------------------------------------
    def start_query_execution(self, **request: Any) -> dict[str, Any]:
        with self._lock:
            return {"QueryExecutionId": self._start(request)}

    def _start(self, request: dict[str, Any]) -> str:
        operation = "StartQueryExecution"
        sql = str(request.get("QueryString", ""))
        if not sql or len(sql.encode("utf-8")) > MAX_QUERY_STRING_BYTES:
            # https://docs.aws.amazon.com/athena/latest/ug/troubleshooting-athena.html
            raise errors.invalid_request(
                "queryString failed to satisfy constraint: Member must have length less than or equal to "
                f"{MAX_QUERY_STRING_BYTES}",
                operation,
            )
        token = request.get("ClientRequestToken")
        if token is not None and token in self._tokens:
            # "If another StartQueryExecution request is received, the same response is returned and
            # another query is not created. An error is returned if a parameter, such as QueryString,
            # has changed." (StartQueryExecution API reference)
            earlier = self.executions[self._tokens[token]]
            if earlier.request != request:
                raise errors.invalid_request("ClientRequestToken reused with different parameters", operation)
            return earlier.id
        workgroup = self.workgroups.get(str(request.get("WorkGroup", "primary")))
        if workgroup is None:
            raise errors.invalid_request(f"WorkGroup {request.get('WorkGroup')} is not found.", operation)
        client_output = request.get("ResultConfiguration", {}).get("OutputLocation")
        output = workgroup.output_location if workgroup.enforce else client_output or workgroup.output_location
        if not output:
            raise errors.invalid_request(NO_OUTPUT_LOCATION, operation)
        database = str(request.get("QueryExecutionContext", {}).get("Database", "default")).lower()
        execution_id = str(uuid.uuid4())
        try:
            statement: Statement | AthenaFailure = parse(sql, database)
        except AthenaFailure as failure:
            statement = failure
        context = Context(execution_id, database, output, workgroup.enforce, workgroup.bytes_scanned_cutoff)
        execution = Execution(
            execution_id, sql, dict(request), workgroup, context, statement, self.clock(), self.runtime_seconds(sql)
        )
        if execution.dml and self.active_dml() >= self.dml_quota:
            raise errors.api_error(
                "TooManyRequestsException", TOO_MANY_QUERIES, operation, Reason="CONCURRENT_QUERY_LIMIT_EXCEEDED"
            )
        self.executions[execution_id] = execution
        if token is not None:
            self._tokens[token] = execution_id
        self._advance(execution)
        return execution_id

    def active_dml(self) -> int:
        """Queued and running DML queries: what Athena's quota counts."""
        for execution in self.executions.values():
            self._advance(execution)
        return sum(1 for e in self.executions.values() if e.dml and e.state in ACTIVE)

    # -- the lifecycle ---------------------------------------------------------------------------
    def _advance(self, execution: Execution) -> None:
        """Move the query as far as the polls it has had and the emulated time allow."""
        if execution.state not in ACTIVE:
            return
        now, queued, running = self.clock(), self.progression.queued_polls, self.progression.running_polls
        if execution.state == "QUEUED" and execution.polls >= queued:
            execution.state, execution.started = "RUNNING", now
        if execution.state != "RUNNING" or execution.started is None:
            return
        elapsed = now - execution.started
        timeout = self.dml_timeout_seconds if execution.dml else math.inf  # DDL's is hours: not emulated
        finished = execution.polls >= queued + running and elapsed >= execution.runtime
        if finished and execution.runtime < timeout:
            self._run(execution)
        elif elapsed >= timeout:
            execution.end(errors.query_timeout(), now)

    def _run(self, execution: Execution) -> None:
        if isinstance(execution.statement, AthenaFailure):
            execution.end(execution.statement, self.clock())
            return
        try:
            execution.outcome = execute(self.lake, execution.statement, execution.context)
        except AthenaFailure as failure:
            execution.end(failure, self.clock())
            return
        execution.end(None, self.clock())

    def _get(self, execution_id: str, operation: str) -> Execution:
        execution = self.executions.get(execution_id)
        if execution is None:
            raise errors.invalid_request(f"QueryExecution {execution_id} was not found", operation)
        return execution

    # Parameter names are boto3's: the engine calls with keywords.
    def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        with self._lock:
            execution = self._get(QueryExecutionId, "GetQueryExecution")
            self._advance(execution)
            execution.polls += 1
            return {"QueryExecution": execution.describe(self._epoch, self.clock())}

    def stop_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        with self._lock:
            execution = self._get(QueryExecutionId, "StopQueryExecution")
            self._advance(execution)
            if execution.state in ACTIVE:
                execution.state, execution.ended = "CANCELLED", self.clock()
            return {}

    # -- GetQueryResults -------------------------------------------------------------------------
    def get_query_results(
        self,
        QueryExecutionId: str,
        MaxResults: int = MAX_RESULTS_PER_PAGE,
        NextToken: str | None = None,
    ) -> dict[str, Any]:
        operation = "GetQueryResults"
        with self._lock:
            if not 1 <= MaxResults <= MAX_RESULTS_PER_PAGE:
                raise errors.invalid_request(
                    f"1 validation error detected: Value '{MaxResults}' at 'maxResults' failed to satisfy "
                    f"constraint: Member must have value less than or equal to {MAX_RESULTS_PER_PAGE}",
                    operation,
                )
            execution = self._get(QueryExecutionId, operation)
            self._advance(execution)
            if execution.state in ACTIVE:
                raise errors.invalid_request(f"Query has not yet finished. Current state: {execution.state}", operation)
            outcome = execution.outcome
            if outcome is None:
                reason = execution.failure.reason if execution.failure else f"Query was {execution.state}"
                raise errors.invalid_request(reason, operation)
            if outcome.rows is None:  # CTAS, INSERT INTO, DDL: no result set
                page: dict[str, Any] = {"ResultSet": {"Rows": [], "ResultSetMetadata": {"ColumnInfo": []}}}
                if outcome.update_count is not None:
                    page["UpdateCount"] = outcome.update_count
                return page
            if execution.pages is None:
                rows = outcome.rows
                execution.pages = ResultPages(execution.id, rows.names, rows.types, rows.table)
            offset = execution.pages.offset(NextToken)
            if offset is None:
                raise errors.invalid_request("Invalid NextToken", operation)
            return execution.pages.page(offset, MaxResults)

    # -- GetWorkGroup ----------------------------------------------------------------------------
    def get_work_group(self, WorkGroup: str) -> dict[str, Any]:
        with self._lock:
            workgroup = self.workgroups.get(WorkGroup)
            if workgroup is None:
                raise errors.invalid_request(f"WorkGroup {WorkGroup} is not found.", "GetWorkGroup")
            configuration = workgroup.configuration()
            return {
                "WorkGroup": {
                    "Name": workgroup.name,
                    "State": "ENABLED",
                    "Configuration": configuration,
                    "CreationTime": self._epoch,
                }
            }

    # -- for tests -------------------------------------------------------------------------------
    def statements(self) -> list[str]:
        """Every statement started, in order."""
        return [e.sql for e in self.executions.values()]
