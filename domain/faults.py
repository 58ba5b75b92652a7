"""Fault injection through configuration, for testing failure handling without code edits.

A plan is a ';'-separated list of rules:

    stage=features:transient=2     the features stage fails twice, then works
    stage=publish:permanent        the publish stage always fails, with an error no retry fixes
    batch=3:transient=2            prediction batch 3 fails on its first two attempts
    batch=3:permanent              prediction batch 3 always fails
    kill=after_batches:2           the orchestrating process kills itself (SIGKILL) once 2 batches are done
    kill=before_stage:aggregation  ... or just before a stage starts

A stage rule on training or prediction fails the training task or every batch task. The
plan is parsed here (pure), and refused whole if any rule could never fire (an unknown stage,
a batch beyond the spec's max_batches, kill=after_batches:0, transient=0); the CLI parses it
before anything is locked, the orchestrator and the container main apply it.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TypeVar

from domain.errors import BatchmlError
from domain.spec import STAGE_NAMES

_RULE = re.compile(
    r"^(?:(?P<scope>stage|batch)=(?P<target>[^:;]+):(?:(?P<kind>transient)=(?P<times>\d+)|permanent)"
    r"|kill=(?P<point>after_batches|before_stage):(?P<at>[^:;]+))$"
)
T = TypeVar("T")


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
        """The plan `text` describes; ValueError naming the rule for anything it cannot honour
        (a rule that would silently never fire is an error too)."""
        stages: dict[str, int | None] = {}
        batches: dict[int, int | None] = {}
        kill_after: int | None = None
        kill_before: str | None = None
        for rule in filter(None, (r.strip() for r in (text or "").split(";"))):
            match = _RULE.match(rule)
            if not match:
                raise ValueError(f"fault rule {rule!r} is not understood; {_SYNTAX}")
            times = int(match["times"]) if match["times"] else None
            if times == 0:
                raise ValueError(f"fault rule {rule!r}: transient=0 never fails; use 1 or more")
            if match["scope"] == "stage":
                stages[_unique(rule, _stage(rule, match["target"]), stages)] = times
            elif match["scope"] == "batch":
                if not match["target"].isdigit():
                    raise ValueError(f"fault rule {rule!r}: a batch is a number from 0")
                batches[_unique(rule, int(match["target"]), batches)] = times
            elif match["point"] == "after_batches":
                if kill_after is not None or not match["at"].isdigit() or int(match["at"]) < 1:
                    raise ValueError(f"fault rule {rule!r}: expected one kill=after_batches:N with N >= 1")
                kill_after = int(match["at"])
            else:
                if kill_before is not None:
                    raise ValueError(f"fault rule {rule!r}: only one kill=before_stage rule")
                kill_before = _stage(rule, match["at"])
        return cls(stages, batches, kill_after, kill_before)

    def check_batches(self, max_batches: int) -> None:
        """What can be checked before batch planning: no batch beyond what the spec allows."""
        beyond = sorted(b for b in self.batches if b >= max_batches)
        if beyond:
            raise ValueError(f"fault rule batch={beyond[0]}: batches are numbered 0 to {max_batches - 1}")

    def unused_batch_rules(self, planned: Collection[int], pending: int) -> str | None:
        """Why a batch rule cannot fire in this run (its batch was not planned, or fewer batches
        are left to run than a kill waits for), or None."""
        missing = sorted(set(self.batches) - set(planned))
        if missing:
            return f"fault rule batch={missing[0]}: the run planned batches {_span(planned)}"
        if self.kill_after_batches is not None and self.kill_after_batches > pending:
            return f"fault rule kill=after_batches:{self.kill_after_batches}: only {pending} batch(es) left to run"
        return None

    def check_stage(self, stage: str, attempt: int) -> None:
        if stage in self.stages:
            _fail(f"stage {stage}", self.stages[stage], attempt)

    def check_batch(self, batch: int, attempt: int) -> None:
        if batch in self.batches:
            _fail(f"batch {batch}", self.batches[batch], attempt)


_SYNTAX = (
    "expected stage=STAGE:transient=N, stage=STAGE:permanent, batch=N:transient=N, batch=N:permanent, "
    "kill=after_batches:N or kill=before_stage:STAGE, ';'-separated (see domain/faults.py)"
)


def _stage(rule: str, name: str) -> str:
    if name not in STAGE_NAMES:
        raise ValueError(f"fault rule {rule!r}: no stage {name!r} (stages: {', '.join(STAGE_NAMES)})")
    return name


def _unique(rule: str, target: T, seen: Collection[T]) -> T:
    if target in seen:
        raise ValueError(f"fault rule {rule!r}: a second rule for the same target")
    return target


def _span(planned: Collection[int]) -> str:
    return f"{min(planned)} to {max(planned)}" if planned else "none"


def _fail(where: str, times: int | None, attempt: int) -> None:
    if times is None:
        raise InjectedFault(where, transient=False)
    if attempt <= times:
        raise InjectedFault(f"{where} (attempt {attempt} of the first {times})", transient=True)
