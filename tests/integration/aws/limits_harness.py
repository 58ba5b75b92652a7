"""The limits harness: AWS's documented limits, held against what the AWS tests see.

Emulators run AWS's APIs, not its limits (moto runs any state machine, LocalStack returns any
payload, neither stops a Lambda at 900 s). The AWS tests hand what they observe to these checks:
a state machine definition, a Lambda's answer and how long it took, a Step Functions history,
a task's size. Each check names the limit it holds, whose value and AWS page are written once in
adapters/aws/limits.py. Athena's own limits are enforced by the Athena emulator itself
(tests/integration/aws/athena_emulator.py), with the same constants.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from adapters.aws import limits
from adapters.aws.limits import Limit


class LimitCrossed(AssertionError):
    def __init__(self, limit: Limit, what: str, value: float) -> None:
        super().__init__(f"{what}: {value:g} crosses {limit.name} ({limit.value:g} {limit.unit}; {limit.source})")


def _at_most(limit: Limit, what: str, value: float) -> None:
    if value > limit.value:
        raise LimitCrossed(limit, what, value)


def _states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        if "ItemProcessor" in state:
            yield from _states(state["ItemProcessor"]["States"])


def check_definition(definition: dict[str, Any]) -> list[str]:
    """Every limit a definition itself can cross; returns the names of the states checked."""
    text = json.dumps(definition)
    _at_most(limits.SFN_MAX_DEFINITION_BYTES, "the definition", len(text.encode()))
    checked: list[str] = []
    for name, state in _states(definition["States"]):
        checked.append(name)
        if state.get("Resource") == "arn:aws:states:::lambda:invoke":
            # A Lambda state's timeout must not outlast the function: Lambda stops it at 900 s.
            _at_most(limits.LAMBDA_TIMEOUT_SECONDS, f"state {name} TimeoutSeconds", state.get("TimeoutSeconds", 1e9))
        if state["Type"] == "Map":
            mode = state.get("ItemProcessor", {}).get("ProcessorConfig", {}).get("Mode", "INLINE")
            concurrency = state.get("MaxConcurrency", 0)
            if mode == "INLINE":
                # Beyond 40 an inline Map silently runs 40 at a time; above it the compiler goes Distributed.
                assert "ItemsPath" in state, f"inline map {name} reads its items from the state"
            else:
                _at_most(limits.SFN_DISTRIBUTED_MAP_MAX_CONCURRENCY, f"map {name} MaxConcurrency", concurrency)
                assert "ResultWriter" in state, f"distributed map {name} must not collect results in the state"
                assert state["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject", name
        if state["Type"] == "Wait" and "Seconds" in state:
            _at_most(limits.SFN_WAIT_MAX_SECONDS, f"wait {name}", state["Seconds"])
        for retrier in state.get("Retry", []):
            _at_most(limits.SFN_RETRY_MAX_INTERVAL_OR_ATTEMPTS, f"{name} MaxAttempts", retrier.get("MaxAttempts", 3))
    return checked


def check_payload(what: str, payload: Any) -> None:
    """A state's input or output, a Lambda's answer: Step Functions refuses more than 256 KiB."""
    size = len(payload.encode() if isinstance(payload, str) else json.dumps(payload).encode())
    _at_most(limits.SFN_MAX_PAYLOAD_BYTES, what, size)


def check_history(history: Iterable[dict[str, Any]]) -> int:
    """Every input and output of an execution's history within the payload limit, and the history
    within Standard workflows' 25,000 events. Returns the number of events."""
    events = list(history)
    _at_most(limits.SFN_MAX_HISTORY_EVENTS, "the execution's history", len(events))
    for event in events:
        for key, details in event.items():
            if key.endswith("EventDetails") and isinstance(details, dict):
                for field in ("input", "output", "parameters", "result"):
                    if isinstance(details.get(field), str):
                        check_payload(f"event {event['id']} {field}", details[field])
    return len(events)


def check_lambda_invocation(what: str, seconds: float, peak_mb: float = 0.0) -> None:
    """One invocation as Lambda would run it: within 900 s and 10,240 MB."""
    _at_most(limits.LAMBDA_TIMEOUT_SECONDS, f"{what} took", seconds)
    _at_most(limits.LAMBDA_MEMORY_MAX_MB, f"{what} used MB", peak_mb)


def check_task_size(what: str, cpu: int, memory_mb: int) -> None:
    """A Fargate task size AWS accepts (its CPU units and memory together)."""
    allowed = limits.FARGATE_TASK_SIZES.get(cpu)
    assert allowed is not None, (
        f"{what}: {cpu} CPU units is no Fargate size (one of {sorted(limits.FARGATE_TASK_SIZES)})"
    )
    assert memory_mb in allowed, f"{what}: {memory_mb} MiB with {cpu} CPU units is no Fargate size ({allowed})"


def check_lambda_memory(what: str, memory_mb: int) -> None:
    assert limits.LAMBDA_MEMORY_MIN_MB.value <= memory_mb <= limits.LAMBDA_MEMORY_MAX_MB.value, what
