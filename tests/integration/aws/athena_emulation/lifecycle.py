"""A query's life in the emulator: its record, the emulated clock it ages by, how many polls it
spends in each state, and how GetQueryExecution describes it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from tests.integration.aws.athena_emulation.errors import AthenaFailure
from tests.integration.aws.athena_emulation.lake import folder
from tests.integration.aws.athena_emulation.results import ResultPages
from tests.integration.aws.athena_emulation.runner import Context, Outcome
from tests.integration.aws.athena_emulation.statements import Statement
from tests.integration.aws.athena_emulation.workgroup import WorkGroup

ACTIVE = ("QUEUED", "RUNNING")


class EmulatedClock:
    """Time as the emulator sees it; pass `advance` as the engine's `sleep` so its polling moves it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class Progression:
    """How many GetQueryExecution calls see a query QUEUED, then RUNNING, before it ends
    (0 and 0: the first poll sees it finished)."""

    queued_polls: int = 0
    running_polls: int = 0


@dataclass
class Execution:
    id: str
    sql: str
    request: dict[str, Any]
    workgroup: WorkGroup
    context: Context
    statement: Statement | AthenaFailure  # what parsing gave: Athena fails bad SQL when it runs it
    submitted: float
    runtime: float  # emulated seconds it runs
    state: str = "QUEUED"
    polls: int = 0
    started: float | None = None
    ended: float | None = None
    failure: AthenaFailure | None = None
    outcome: Outcome | None = None
    pages: ResultPages | None = field(default=None, repr=False)

    @property
    def dml(self) -> bool:
        return not isinstance(self.statement, Statement) or self.statement.dml

    def end(self, failure: AthenaFailure | None, now: float) -> None:
        self.failure, self.ended = failure, now
        self.state = failure.state if failure else "SUCCEEDED"

    def describe(self, epoch: dt.datetime, now: float) -> dict[str, Any]:
        """GetQueryExecution's `QueryExecution`."""

        def at(seconds: float) -> dt.datetime:
            return epoch + dt.timedelta(seconds=seconds)

        status: dict[str, Any] = {"State": self.state, "SubmissionDateTime": at(self.submitted)}
        if self.failure is not None:
            status.update(self.failure.status())
        if self.ended is not None:
            status["CompletionDateTime"] = at(self.ended)
        scanned = self.outcome.scanned if self.outcome else 0
        if self.failure is not None and self.failure.scanned is not None:
            scanned = self.failure.scanned
        started = self.started if self.started is not None else now
        end = self.ended if self.ended is not None else now
        described: dict[str, Any] = {
            "QueryExecutionId": self.id,
            "Query": self.sql,
            "StatementType": self.statement.statement_type if isinstance(self.statement, Statement) else "DML",
            "ResultConfiguration": {"OutputLocation": f"{folder(self.context.output_location)}{self.id}.csv"},
            "QueryExecutionContext": {"Database": self.context.database, "Catalog": "awsdatacatalog"},
            "Status": status,
            "Statistics": {
                "DataScannedInBytes": scanned,
                "EngineExecutionTimeInMillis": int((end - started) * 1000),
                "QueryQueueTimeInMillis": int((started - self.submitted) * 1000),
                "TotalExecutionTimeInMillis": int((end - self.submitted) * 1000),
            },
            "WorkGroup": self.workgroup.name,
            "EngineVersion": self.workgroup.configuration()["EngineVersion"],
        }
        if isinstance(self.statement, Statement):
            described["SubstatementType"] = self.statement.substatement_type
        return described
