"""The transitions an execution was billed for: states entered in its history, counted; a
Distributed Map's child executions, from the map run's item counts."""

from __future__ import annotations

from typing import Any

from adapters.aws.sfn_transitions import count_transitions


class History:
    """The two calls of the Step Functions client the count makes, over canned pages."""

    def __init__(self, pages: list[list[dict[str, Any]]], map_runs: dict[str, dict[str, int]]) -> None:
        self.pages, self.map_runs = pages, map_runs
        self.calls: list[dict[str, Any]] = []

    def get_execution_history(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        index = int(kwargs.get("nextToken", 0))
        page: dict[str, Any] = {"events": self.pages[index]}
        if index + 1 < len(self.pages):
            page["nextToken"] = str(index + 1)
        return page

    def describe_map_run(self, **kwargs: Any) -> dict[str, Any]:
        return {"itemCounts": self.map_runs[kwargs["mapRunArn"]]}


def entered(kind: str, n: int) -> list[dict[str, Any]]:
    return [{"type": f"{kind}StateEntered"} for _ in range(n)] + [{"type": "TaskScheduled"}] * n


def test_states_entered_are_counted_across_pages_and_child_items_estimated() -> None:
    def map_run(state: str, arn: str) -> list[dict[str, Any]]:
        return [
            {"type": "MapStateEntered", "stateEnteredEventDetails": {"name": state}},
            {"type": "MapRunStarted", "mapRunStartedEventDetails": {"mapRunArn": arn}},
        ]

    history = History(
        [
            entered("Task", 3),
            [*entered("Choice", 2), *map_run("staging_ingest_distributed", "arn:ingest")],
            [*entered("Wait", 1), *map_run("prediction_distributed", "arn:batches")],
        ],
        {"arn:ingest": {"succeeded": 50, "total": 50}, "arn:batches": {"succeeded": 40, "failed": 1, "total": 41}},
    )
    found = count_transitions(history, "arn:execution")
    assert (found.counted, found.child_items, found.map_runs) == (3 + 2 + 1 + 1 + 1, 91, 2)
    # An ingest item enters one state (its Task), a batch two (its Task, then Succeed).
    assert found.total == 8 + 50 * 1 + 41 * 2
    assert "8 states entered, counted" in found.describe() and "91 Distributed Map items" in found.describe()
    assert [call.get("nextToken") for call in history.calls] == [None, "1", "2"]


def test_an_execution_without_a_distributed_map_is_counted_exactly() -> None:
    found = count_transitions(History([entered("Task", 10)], {}), "arn:execution")
    assert found.total == found.counted == 10
    assert "estimated" not in found.describe()
