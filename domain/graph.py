"""The stage graph: the one definition of the pipeline that both orchestrators execute.

The local orchestrator walks it; the AWS compiler turns it into Amazon States Language.
Each stage says what kind of compute it needs, how it retries and how long it may take.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.spec import STAGE_NAMES, PipelineSpec, RetrySpec


class StageKind(StrEnum):
    FUNCTION = "function"  # short SQL/control work: a function call locally, a Lambda on AWS
    TASK = "task"  # heavy compute in a container: a process locally, a Fargate task on AWS
    MAP = "map"  # one TASK per batch of the manifest, fanned out with a concurrency cap


@dataclass(frozen=True)
class Stage:
    name: str
    kind: StageKind
    retry: RetrySpec
    description: str
    # A function stage whose first part fans out over the source's ingest items (on AWS one
    # Lambda invocation each, so no invocation grows with the data; locally one call does all).
    ingest_fan_out: bool = False

    @property
    def timeout_seconds(self) -> int:
        return self.retry.timeout_seconds


@dataclass(frozen=True)
class StageGraph:
    stages: tuple[Stage, ...]
    max_concurrency: int
    failure_route: str = "record_failure"
    ingest_concurrency: int = 1

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stages]


_KINDS = {"training": StageKind.TASK, "prediction": StageKind.MAP}

_DESCRIPTIONS = {
    "pre_cleanup": "remove leftovers of abandoned runs (never published results)",
    "staging": "JSON lines -> typed Parquet; bad lines -> rejects, with reasons",
    "features": "the one features SELECT, for training and scoring rows alike",
    "training": "fit the model and its quantile models on labelled rows; model card",
    "batch_planning": "split scoring rows into batches from the row count; manifest",
    "results_table": "create the results table if it does not exist",
    "prediction": "one task per batch, in parallel up to max_concurrency",
    "aggregation": "every staged id exactly once: label, prediction or default; verify",
    "publish": "point the results table at the verified output",
    "cleanup": "remove intermediate data of this run",
}


def build_graph(spec: PipelineSpec) -> StageGraph:
    stages = tuple(
        Stage(
            name=name,
            kind=_KINDS.get(name, StageKind.FUNCTION),
            retry=spec.retry_for(name),
            description=_DESCRIPTIONS[name],
            ingest_fan_out=name == "staging",
        )
        for name in STAGE_NAMES
    )
    return StageGraph(
        stages=stages,
        max_concurrency=spec.batches.max_concurrency,
        ingest_concurrency=spec.source.ingest_concurrency,
    )
