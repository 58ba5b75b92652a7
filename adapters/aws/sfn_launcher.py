"""Start a run on Step Functions and follow it, reporting the events the local orchestrator emits.

`watch` reads the execution's history and hands it to the HistoryTranslator
(adapters/aws/sfn_history.py), so `batchml run --backend aws` shows the same progress display
and writes the same event kinds (stage_started, retry, batch_succeeded, run_failed, ...) as a
local run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Protocol

from adapters.aws.sfn_history import HistoryTranslator
from adapters.aws.state_machine import stage_of_state
from domain.ports.event_log import EventLog


class StepFunctionsClient(Protocol):
    """The part of boto3's `stepfunctions` client the launcher uses."""

    def start_execution(self, **kwargs: Any) -> dict[str, Any]: ...
    def list_executions(self, **kwargs: Any) -> dict[str, Any]: ...
    def get_execution_history(self, **kwargs: Any) -> dict[str, Any]: ...
    def describe_state_machine_for_execution(self, **kwargs: Any) -> dict[str, Any]: ...
    def describe_map_run(self, **kwargs: Any) -> dict[str, Any]: ...


class StepFunctionsLauncher:
    def __init__(
        self,
        sfn_client: StepFunctionsClient,
        state_machine_arn: str,
        events: EventLog,
        poll_seconds: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sfn, self.state_machine_arn, self.events = sfn_client, state_machine_arn, events
        self.poll_seconds, self.sleep = poll_seconds, sleep

    def start(self, run_id: str, spec_uri: str, execution_name: str | None = None, resume: bool = False) -> str:
        """Execution names are unique per state machine for 90 days: a resumed run passes a new
        one, and `"resume": true` in the input, which the first stage reads."""
        run_input: dict[str, Any] = {"run_id": run_id, "spec_uri": spec_uri}
        if resume:
            run_input["resume"] = True
        response = self.sfn.start_execution(
            stateMachineArn=self.state_machine_arn, name=execution_name or run_id, input=json.dumps(run_input)
        )
        arn: str = response["executionArn"]
        return arn

    def running(self, run_id: str) -> list[str]:
        """ARNs of the run's executions still running (its first, named after the run, and any
        resumed one): a resume beside one of them would run the same stages twice at once."""
        request: dict[str, Any] = {"stateMachineArn": self.state_machine_arn, "statusFilter": "RUNNING"}
        arns: list[str] = []
        while True:
            page = self.sfn.list_executions(**request)
            for execution in page.get("executions", []):
                name = str(execution["name"])
                if name == run_id or name.startswith(f"{run_id}-resume-"):
                    arns.append(str(execution["executionArn"]))
            if not page.get("nextToken"):
                return arns
            request["nextToken"] = page["nextToken"]

    def watch(self, execution_arn: str) -> str:
        """Follow the execution to its end; returns SUCCEEDED, FAILED, TIMED_OUT or ABORTED."""
        translator = HistoryTranslator(
            self.events,
            _definition_facts(self.sfn, execution_arn),
            lambda map_run: self.sfn.describe_map_run(mapRunArn=map_run),
        )
        last_id = 0
        while True:
            fresh = _events_after(self.sfn, execution_arn, last_id)
            for event in fresh:
                translator.feed(event)
            last_id = fresh[-1]["id"] if fresh else last_id  # fresh is oldest first
            translator.map_run_progress()  # a running Distributed Map's batches, between polls
            if translator.status is not None:
                return translator.status
            self.sleep(self.poll_seconds)


def _events_after(sfn: StepFunctionsClient, execution_arn: str, last_id: int) -> list[dict[str, Any]]:
    """Only the events newer than `last_id`, oldest first.

    Asks for the newest first so paging can stop at the first page that holds an event already
    seen, but does not rely on that order: an emulator that ignores reverseOrder (moto serves the
    oldest first) must not make a running execution look like it has nothing new, forever; such
    a history is read to its last page.
    """
    fresh: list[dict[str, Any]] = []
    request: dict[str, Any] = {"executionArn": execution_arn, "reverseOrder": True, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**request)
        ids = [int(event["id"]) for event in page["events"]]
        fresh.extend(event for event in page["events"] if event["id"] > last_id)
        newest_first = ids == sorted(ids, reverse=True)
        if (newest_first and any(i <= last_id for i in ids)) or not page.get("nextToken"):
            return sorted(fresh, key=lambda event: int(event["id"]))
        request["nextToken"] = page["nextToken"]


def _definition_facts(sfn: StepFunctionsClient, execution_arn: str) -> dict[str, Any]:
    """Stage kinds and the prediction map's concurrency, read from the definition the execution
    runs. A stage is a map when a Map state is named after it (`<stage>_inline`): the staging
    stage's ingest Maps are `staging_ingest_*`, items of a function stage."""
    definition = json.loads(sfn.describe_state_machine_for_execution(executionArn=execution_arn)["definition"])
    states = definition["States"]
    kinds: dict[str, str] = {}
    concurrency = 0
    for name, state in states.items():
        stage = stage_of_state(name)
        if stage is None:
            continue
        if state["Type"] == "Map" and name in (stage + "_inline", stage + "_distributed"):
            kinds[stage], concurrency = "map", int(state.get("MaxConcurrency", 0))
        elif kinds.get(stage) != "map" and name == stage:
            kinds[stage] = "task" if ":::ecs:" in state.get("Resource", "") else "function"
    return {"kinds": kinds, "max_concurrency": concurrency}
