"""Fault injection through configuration, for testing failure handling without code edits.

A plan is a ';'-separated list of rules:

    stage=features:transient=2     the features stage fails twice, then works
    stage=publish:permanent        the publish stage always fails, with an error no retry fixes
    batch=3:transient=2            prediction batch 3 fails on its first two attempts
    batch=3:permanent              prediction batch 3 always fails
    kill=after_batches:2           the orchestrating process kills itself (SIGKILL) once 2 batches are done
    kill=before_stage:aggregation  ... or just before a stage starts

The plan is parsed here (pure); the orchestrator and the container main apply it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from domain.errors import BatchmlError
from domain.spec import STAGE_NAMES

_RULE = re.compile(
    r"^(?:(?P<scope>stage|batch)=(?P<target>[a-z_0-9]+):(?:(?P<kind>transient)=(?P<times>\d+)|permanent)"
    r"|kill=(?P<point>after_batches|before_stage):(?P<at>[a-z_0-9]+))$"
)


class InjectedFault(BatchmlError):
    def __init__(self, where: str, *, transient: bool) -> None:
        kind = "transient" if transient else "permanent"
        super().__init__(f"injected {kind} fault in {where}")
        self.transient = transient


@dataclass(frozen=True)
class FaultPlan:
    stages: dict[str, int | None] = field(default_factory=dict)  # None: always fails
    batches: dict[int, int | None] = field(default_factory=dict)
    kill_after_batches: int | None = None
    kill_before_stage: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> FaultPlan:
        stages: dict[str, int | None] = {}
        batches: dict[int, int | None] = {}
        kill_after: int | None = None
        kill_before: str | None = None
        for rule in filter(None, (r.strip() for r in (text or "").split(";"))):
            match = _RULE.match(rule)
            if not match:
                raise ValueError(f"fault rule {rule!r} is not understood (see domain/faults.py for the syntax)")
            times = int(match["times"]) if match["times"] else None
            if match["scope"] == "stage":
                if match["target"] not in STAGE_NAMES:
                    raise ValueError(f"fault rule {rule!r}: no stage {match['target']!r}")
                stages[match["target"]] = times
            elif match["scope"] == "batch":
                batches[int(match["target"])] = times
            elif match["point"] == "after_batches":
                kill_after = int(match["at"])
            else:
                kill_before = match["at"]
        return cls(stages, batches, kill_after, kill_before)

    def check_stage(self, stage: str, attempt: int) -> None:
        if stage in self.stages:
            _fail(f"stage {stage}", self.stages[stage], attempt)

    def check_batch(self, batch: int, attempt: int) -> None:
        if batch in self.batches:
            _fail(f"batch {batch}", self.batches[batch], attempt)


def _fail(where: str, times: int | None, attempt: int) -> None:
    if times is None:
        raise InjectedFault(where, transient=False)
    if attempt <= times:
        raise InjectedFault(f"{where} (attempt {attempt} of the first {times})", transient=True)
