"""The state transitions an execution was billed for, from its history.

Step Functions (STANDARD) bills one transition per state entered, retries included. The
execution's own history holds every state it entered; a Distributed Map's items run as child
executions with histories of their own, so those are taken from the map run's item counts at
the transitions an item takes (cost_shape.CHILD_TRANSITIONS), and said to be estimated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from adapters.aws.cost_shape import CHILD_TRANSITIONS


class HistoryClient(Protocol):
    def get_execution_history(self, **kwargs: Any) -> dict[str, Any]: ...
    def describe_map_run(self, **kwargs: Any) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Transitions:
    counted: int  # states entered in the execution's own history
    child_items: int  # Distributed Map items run as child executions
    map_runs: int

    @property
    def total(self) -> int:
        return self.counted + round(self.child_items * CHILD_TRANSITIONS.value)

    def describe(self) -> str:
        text = f"{self.counted:,} states entered, counted in the execution's history"
        if self.map_runs:
            text += (
                f", plus {self.child_items:,} Distributed Map items x {CHILD_TRANSITIONS.value:g} "
                f"(estimated: child executions have histories of their own)"
            )
        return text


def count_transitions(sfn: HistoryClient, execution_arn: str) -> Transitions:
    entered = 0
    map_runs: list[str] = []
    request: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**request)
        for event in page["events"]:
            if str(event["type"]).endswith("StateEntered"):
                entered += 1
            elif event["type"] == "MapRunStarted":
                map_runs.append(str(event["mapRunStartedEventDetails"]["mapRunArn"]))
        if not page.get("nextToken"):
            break
        request["nextToken"] = page["nextToken"]
    items = 0
    for arn in map_runs:
        counts = sfn.describe_map_run(mapRunArn=arn).get("itemCounts", {})
        items += sum(int(counts.get(k, 0)) for k in ("succeeded", "failed", "timedOut", "aborted", "running"))
    return Transitions(counted=entered, child_items=items, map_runs=len(map_runs))
