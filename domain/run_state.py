"""A run's state: which stages finished, what they reported, and how the run ended.

Persisted by the RunStore after every stage so a run can be resumed and summarised.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from domain.cost.ledger import Ledger

RunStatus = Literal["RUNNING", "SUCCEEDED", "FAILED", "ABANDONED"]
StageStatus = Literal["RUNNING", "SUCCEEDED", "FAILED"]


@dataclass
class StageRecord:
    status: StageStatus
    attempts: int = 0
    seconds: float = 0.0
    report: dict[str, Any] = field(default_factory=dict)
    # When the stage's current attempt began: a stage that runs over several invocations
    # (AWS) checks its timeout against this.
    started_at: float | None = None


@dataclass
class Failure:
    stage: str
    error: str
    batch: int | None = None
    # False: an error no retry or resume can fix (bad SQL, data or spec); None: not known.
    retryable: bool | None = None
    data_removed: bool = False  # its intermediate data was removed to free a full disk: not resumable


@dataclass
class RunState:
    run_id: str
    fingerprints: dict[str, str]  # per spec section, SQL file and the source listing
    started_at: float
    status: RunStatus = "RUNNING"
    finished_at: float | None = None
    stages: dict[str, StageRecord] = field(default_factory=dict)
    failure: Failure | None = None
    ledger: Ledger | None = None  # what the run used (domain/cost/ledger.py); absent in older runs

    def stage_done(self, stage: str) -> bool:
        record = self.stages.get(stage)
        return record is not None and record.status == "SUCCEEDED"

    def report(self, stage: str) -> dict[str, Any]:
        record = self.stages.get(stage)
        return record.report if record else {}

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunState:
        stages = {name: StageRecord(**rec) for name, rec in data.get("stages", {}).items()}
        failure = Failure(**data["failure"]) if data.get("failure") else None
        return cls(
            run_id=data["run_id"],
            fingerprints=dict(data.get("fingerprints", {})),
            started_at=data["started_at"],
            status=data["status"],
            finished_at=data.get("finished_at"),
            stages=stages,
            failure=failure,
            ledger=Ledger.from_json(data["ledger"]) if data.get("ledger") else None,
        )
