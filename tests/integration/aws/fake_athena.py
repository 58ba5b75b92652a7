"""A hand-written Athena client for what moto cannot produce: a FAILED query with Athena's
reason and Retryable flag, non-zero DataScannedInBytes, throttling, paginated results.

Everything else in the Athena tests runs against moto.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError


class FakeAthena:
    def __init__(
        self,
        states: Sequence[str] = ("SUCCEEDED",),
        *,
        reason: str = "",
        athena_error: dict[str, Any] | None = None,
        scanned: int = 0,
        pages: Sequence[dict[str, Any]] = (),
        throttle_starts: int = 0,
        throttle_polls: int = 0,
    ) -> None:
        self.states = list(states)
        self.reason, self.athena_error, self.scanned = reason, athena_error, scanned
        self.pages = list(pages)
        self.throttle_starts, self.throttle_polls = throttle_starts, throttle_polls
        self.started: list[dict[str, Any]] = []
        self.stopped: list[str] = []
        self.polls = 0

    @staticmethod
    def _throttled(operation: str) -> ClientError:
        return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation)

    def start_query_execution(self, **request: Any) -> dict[str, Any]:
        if self.throttle_starts:
            self.throttle_starts -= 1
            raise self._throttled("StartQueryExecution")
        self.started.append(request)
        return {"QueryExecutionId": f"q{len(self.started)}"}

    def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        self.polls += 1
        if self.throttle_polls:
            self.throttle_polls -= 1
            raise self._throttled("GetQueryExecution")
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        status: dict[str, Any] = {"State": state}
        if state in ("FAILED", "CANCELLED"):
            if self.reason:
                status["StateChangeReason"] = self.reason
            if self.athena_error is not None:
                status["AthenaError"] = self.athena_error
        return {
            "QueryExecution": {
                "QueryExecutionId": QueryExecutionId,
                "Status": status,
                "Statistics": {"DataScannedInBytes": self.scanned},
            }
        }

    def get_query_results(self, QueryExecutionId: str, MaxResults: int = 1000, NextToken: str = "") -> dict[str, Any]:
        index = int(NextToken or 0)
        page = dict(self.pages[index]) if self.pages else {"ResultSet": {"Rows": []}}
        if index + 1 < len(self.pages):
            page["NextToken"] = str(index + 1)
        return page

    def stop_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        self.stopped.append(QueryExecutionId)
        return {}
