"""The ledger: what a run used, recorded in its run.json under `ledger`.

Measured figures come from the run itself (stage seconds, the rows and bytes each stage
reported, each task's own seconds, the transitions counted in the executions' histories);
a figure that could only be estimated says so in its `how`. The AWS cost is priced once, when
the run ends, with the prices of that day; `plan` is what `batchml plan` gives for this run's
own source size, so the model's error is visible beside the measured figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# The stage report key that counts what each stage worked on (its input rows): the ledger's
# rows per stage, and the benchmark's rows/s.
STAGE_ROWS = {
    "staging": "source_lines",
    "features": "feature_rows",
    "training": "training_rows",
    "batch_planning": "scoring_rows",
    "prediction": "predicted_rows",
    "aggregation": "result_rows",
}


@dataclass
class StageUse:
    seconds: float = 0.0  # the stage's wall time, as the run recorded it
    rows: int = 0  # the count the stage worked on
    bytes_scanned: int = 0  # as the SQL engine reported it (Athena's DataScannedInBytes on AWS)
    function_seconds: float = 0.0  # time in the function stage's calls (its Lambda invocations on AWS)
    task_seconds: float = 0.0  # the tasks' own measured seconds, summed
    tasks: int = 0  # tasks that recorded their seconds


@dataclass
class Figure:
    """A number and how it was obtained ("counted ...", "measured ...", "estimated ...")."""

    value: float
    how: str


@dataclass
class Cost:
    """Dollars on AWS, per service, at the prices of one region's row of the prices file."""

    total: float
    by_service: dict[str, float]
    region: str
    prices: str  # which prices: file, region and date
    how: str


@dataclass
class Ledger:
    backend: str
    stages: dict[str, StageUse]
    transitions: Figure
    s3_puts: Figure
    s3_gets: Figure
    aws_cost: Cost | None = None
    plan: dict[str, float] = field(default_factory=dict)  # wall_seconds, aws_cost_usd for this run's sizes
    executions: list[str] = field(default_factory=list)  # AWS executions counted, across resumes

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ledger:
        cost = data.get("aws_cost")
        return cls(
            backend=str(data["backend"]),
            stages={name: StageUse(**use) for name, use in data.get("stages", {}).items()},
            transitions=Figure(**data["transitions"]),
            s3_puts=Figure(**data["s3_puts"]),
            s3_gets=Figure(**data["s3_gets"]),
            aws_cost=Cost(**cost) if cost else None,
            plan={str(k): float(v) for k, v in data.get("plan", {}).items()},
            executions=[str(e) for e in data.get("executions", [])],
        )
