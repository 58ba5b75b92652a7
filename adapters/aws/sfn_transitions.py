"""The state transitions an execution was billed for, from its history.

Step Functions (STANDARD) bills one transition per state entered, retries included. The
execution's own history holds every state it entered; a Distributed Map's items run as child
executions with histories of their own, so those are taken from the map run's item counts at
the states an item enters when it succeeds (cost_shape: an ingest item one, a batch two), and
said to be estimated: a retried item enters more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from adapters.aws.cost_shape import BATCH_ITEM_STATES, INGEST_ITEM_STATES
from adapters.aws.state_machine import stage_of_state


class HistoryClient(Protocol):
    def get_execution_history(self, **kwargs: Any) -> dict[str, Any]: ...
    def describe_map_run(self, **kwargs: Any) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Transitions:
    counted: int  # states entered in the execution's own history
    child_states: int  # estimated: the Distributed Maps' items times the states each enters
    child_items: int
    map_runs: int

    @property
    def total(self) -> int:
        return self.counted + self.child_states

    def describe(self) -> str:
        text = f"{self.counted:,} states entered, counted in the execution's history"
        if self.map_runs:
            text += (
                f", plus ~{self.child_states:,} in {self.child_items:,} Distributed Map items "
                "(estimated: child executions have histories of their own)"
            )
        return text


def states_per_item(map_state: str) -> int:
    return INGEST_ITEM_STATES if stage_of_state(map_state) == "staging" else BATCH_ITEM_STATES


def count_transitions(sfn: HistoryClient, execution_arn: str) -> Transitions:
    entered = 0
    map_runs: list[tuple[str, str]] = []  # (map run, the Map state it runs)
    last_map = ""
    request: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**request)
        for event in page["events"]:
            kind = str(event["type"])
            if kind.endswith("StateEntered"):
                entered += 1
                if kind == "MapStateEntered":
                    last_map = str(event.get("stateEnteredEventDetails", {}).get("name", ""))
            elif kind == "MapRunStarted":
                map_runs.append((str(event["mapRunStartedEventDetails"]["mapRunArn"]), last_map))
        if not page.get("nextToken"):
            break
        request["nextToken"] = page["nextToken"]
    items = states = 0
    for arn, map_state in map_runs:
        counts = sfn.describe_map_run(mapRunArn=arn).get("itemCounts", {})
        run = sum(int(counts.get(k, 0)) for k in ("succeeded", "failed", "timedOut", "aborted", "running"))
        items, states = items + run, states + run * states_per_item(map_state)
    return Transitions(counted=entered, child_states=states, child_items=items, map_runs=len(map_runs))
