"""A Lambda stage that returns while its queries run, and is invoked again: each statement is
found again in the journal (S3, moto), never run twice, never cleared while it still writes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import pytest

from adapters.aws.athena_queries import AthenaQueries
from adapters.aws.s3_store import S3ObjectStore
from adapters.aws.statement_journal import StatementJournal
from domain.errors import QueryError, StillRunning

if TYPE_CHECKING:
    from mypy_boto3_athena import AthenaClient

pytestmark = pytest.mark.integration


class Athena:
    """Executions with their own states; StartQueryExecution idempotent per ClientRequestToken,
    as the API reference says."""

    def __init__(self) -> None:
        self.states: dict[str, list[str]] = {}
        self.tokens: dict[str, str] = {}
        self.started: list[str] = []
        self.stopped: list[str] = []
        self.script: list[list[str]] = []  # the states each new execution walks through

    def start_query_execution(self, **request: Any) -> dict[str, Any]:
        token = request.get("ClientRequestToken")
        if token in self.tokens:
            return {"QueryExecutionId": self.tokens[token]}
        execution_id = f"q{len(self.states) + 1}"
        self.states[execution_id] = list(self.script.pop(0) if self.script else ["SUCCEEDED"])
        self.started.append(request["QueryString"])
        if token:
            self.tokens[token] = execution_id
        return {"QueryExecutionId": execution_id}

    def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        states = self.states[QueryExecutionId]
        state = states.pop(0) if len(states) > 1 else states[0]
        return {"QueryExecution": {"QueryExecutionId": QueryExecutionId, "Status": {"State": state}, "Statistics": {}}}

    def stop_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        self.stopped.append(QueryExecutionId)
        self.states[QueryExecutionId] = ["CANCELLED"]
        return {}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.01)


def invocation(athena: Athena, store: S3ObjectStore, clock: Clock, wait: float | None = 10.0) -> AthenaQueries:
    """What one Lambda invocation builds: a fresh journal reader and its own wait budget."""
    journal = StatementJournal(store, "runs/r1/athena/")
    return AthenaQueries(
        cast("AthenaClient", athena),
        workgroup="wg",
        database="db",
        sleep=clock.sleep,
        clock=clock,
        journal=journal,
        wait_seconds=wait,
    )


def test_a_statement_still_running_is_waited_for_not_cleared_and_started_again(s3_store: S3ObjectStore) -> None:
    athena, clock, cleared = Athena(), Clock(), []
    athena.script = [["RUNNING"] * 50 + ["SUCCEEDED"]]
    with pytest.raises(StillRunning, match="still running"):
        invocation(athena, s3_store, clock).run("CTAS", sql_name="s", before_start=lambda: cleared.append(1))
    assert cleared == [1] and athena.started == ["CTAS"]
    finished = invocation(athena, s3_store, clock, wait=1000).run(
        "CTAS", sql_name="s", before_start=lambda: cleared.append(2)
    )
    assert finished.execution_id == "q1"
    assert cleared == [1] and athena.started == ["CTAS"]  # found again, not started or cleared twice


def test_a_statement_that_succeeded_is_not_run_again(s3_store: S3ObjectStore) -> None:
    athena, clock = Athena(), Clock()
    first = invocation(athena, s3_store, clock)
    first.run("CTAS a", sql_name="s")
    first.run("SELECT count", sql_name="s")
    again = invocation(athena, s3_store, clock)
    assert again.run("CTAS a", sql_name="s").execution_id == "q1"
    assert again.run("SELECT count", sql_name="s").execution_id == "q2"
    assert again.run("SELECT count", sql_name="s").execution_id == "q3"  # a second occurrence is its own
    assert athena.started == ["CTAS a", "SELECT count", "SELECT count"]


def test_a_statement_that_failed_is_started_afresh_after_its_retry_hook(s3_store: S3ObjectStore) -> None:
    athena, clock, calls = Athena(), Clock(), []
    athena.script = [["FAILED"], ["SUCCEEDED"]]
    with pytest.raises(QueryError):
        invocation(athena, s3_store, clock).run("INSERT", sql_name="s", before_retry=lambda: calls.append("retry"))
    assert calls == []
    assert (
        invocation(athena, s3_store, clock)
        .run("INSERT", sql_name="s", before_retry=lambda: calls.append("retry"))
        .execution_id
        == "q2"
    )
    assert calls == ["retry"] and len(athena.tokens) == 2  # a new token for the new start


def test_a_start_whose_id_was_never_recorded_gets_the_same_execution_back(s3_store: S3ObjectStore) -> None:
    """The Lambda died between StartQueryExecution and writing the id: the token finds it."""
    athena, clock = Athena(), Clock()
    journal = StatementJournal(s3_store, "runs/r1/athena/")
    key = journal.key("CTAS")
    from adapters.aws.statement_journal import Entry, token

    journal.put(key, Entry(token(key, 0)))
    athena.tokens[token(key, 0)] = "q-earlier"
    athena.states["q-earlier"] = ["SUCCEEDED"]
    assert invocation(athena, s3_store, clock).run("CTAS", sql_name="s").execution_id == "q-earlier"
    assert athena.started == []


def test_unfinished_statements_are_stopped_when_their_stage_times_out(s3_store: S3ObjectStore) -> None:
    athena, clock = Athena(), Clock()
    athena.script = [["SUCCEEDED"], ["RUNNING"] * 100]
    queries = invocation(athena, s3_store, clock)
    queries.run("done", sql_name="s")
    with pytest.raises(StillRunning):
        queries.run("slow", sql_name="s")
    assert invocation(athena, s3_store, clock).stop_unfinished() == 1
    assert athena.stopped == ["q2"]


def test_without_a_journal_a_query_is_waited_for_to_its_end() -> None:
    athena, clock = Athena(), Clock()
    athena.script = [["RUNNING"] * 20 + ["SUCCEEDED"]]
    queries = AthenaQueries(cast("AthenaClient", athena), workgroup="wg", database="db", sleep=clock.sleep, clock=clock)
    assert queries.run("SELECT 1", sql_name="query").execution_id == "q1"
