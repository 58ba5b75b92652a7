"""What a run of a given size uses on AWS, stage by stage, in the execution shape the state
machine runs (the design in adapters/aws/state_machine.py):

- staging: a "plan" Lambda cuts the source into ingest items (a compressed file, or a plain
  file's byte ranges of at most [source] ingest_item_mb); a fan-out of one Lambda per item
  (inline Map up to 40 items, a Distributed Map above) streams each into raw Parquet; a "sql"
  Lambda then runs the staging queries in Athena, waiting at most `sql_wait_seconds` per
  invocation in a continuation loop (Task, Choice, Wait) until they are done;
- features, batch_planning, aggregation: a SQL Lambda and its loop;
- training: one Fargate task; prediction: one Fargate task per batch, max_concurrency at once;
- pre_cleanup, results_table, publish, cleanup: one short Lambda each.

Per-core work comes from the measured rates (domain/cost/rates.py). What cannot be measured
without AWS is an `Assumption`, stated with its reason, and every plan lists the ones it used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from adapters.aws.aws_usage import AwsUsage
from adapters.aws.deployment import Deployment
from domain.cost.rates import Rates
from domain.cost.volumes import Volumes
from domain.spec import STAGE_NAMES, PipelineSpec


@dataclass(frozen=True)
class Assumption:
    value: float
    why: str


FARGATE_START_SECONDS = Assumption(
    45.0, "Fargate task start (image pull, ENI), billed from the pull: 30-60 s by the design; not measurable here"
)
ATHENA_VCPUS_PER_QUERY = Assumption(
    16.0,
    "Athena gives a DML query 4 to 124 DPUs of 4 vCPUs (docs.aws.amazon.com/athena/latest/ug/"
    "capacity-management-requirements.html); the plan takes the least, so SQL stage times are upper bounds",
)
ATHENA_QUERY_SECONDS = Assumption(3.0, "an Athena query's queueing, planning and commit, whatever its size; assumed")
LAMBDA_CALL_SECONDS = Assumption(1.0, "a short Lambda invocation (S3, Glue and Athena API calls), warm; assumed")
ID_BYTES = Assumption(8.0, "bytes Athena scans per row for an id or label column (count queries)")
ASSUMPTIONS = (
    FARGATE_START_SECONDS,
    ATHENA_VCPUS_PER_QUERY,
    ATHENA_QUERY_SECONDS,
    LAMBDA_CALL_SECONDS,
    ID_BYTES,
)
MB = 1 << 20
RAW_PART_BYTES = 256 * MB  # an ingest item uploads a raw part whenever it reaches this
# States entered, as adapters/aws/asl_states.py builds them (tests/unit/test_cost_shape.py
# holds these to a compiled definition). Step Functions bills one transition per state entered.
STAGE_STATES = 2  # a Lambda stage's Task and the Choice on its status
LOOP_STATES = 3  # one more round of its continuation loop: Wait, Task, Choice
ROUTE_STATES = 1  # the Choice before a fan-out
INLINE_STATES = 2  # an inline Map reads its list (a Task), then the Map
DISTRIBUTED_STATES = 1  # a Distributed Map reads its list itself
INGEST_ITEM_STATES = 1  # an ingest item: one Task
BATCH_ITEM_STATES = 2  # a batch: its Task and the Succeed after it (a retry enters five more)
TRAINING_STATES = 2  # the Pass that starts the attempt count, the Task
END_STATES = 1  # run_succeeded
MAX_INSERT_PARTITIONS = 100  # Athena: partitions one CTAS or INSERT INTO may write
SHORT_STAGES = ("pre_cleanup", "results_table", "publish", "cleanup")


@dataclass(frozen=True)
class Query:
    stage: str
    name: str
    bytes_scanned: int
    seconds: float


@dataclass
class AwsPlan:
    stages: dict[str, AwsUsage]
    queries: list[Query]
    ingest_items: int
    ingest_item_seconds: float  # the longest ingest Lambda invocation
    batches: int
    predict_task_seconds: float  # one prediction task, start to stop
    train_task_seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def wall_seconds(self) -> float:
        return sum(u.wall_seconds for u in self.stages.values())

    def map_mode(self, items: int, deployment: Deployment) -> str:
        return "inline" if items <= deployment.inline_map_threshold else "distributed"


@dataclass(frozen=True)
class Measured:
    """What a finished run recorded, used instead of the model's figures where present."""

    athena_bytes: dict[str, int] = field(default_factory=dict)  # per stage
    stage_seconds: dict[str, float] = field(default_factory=dict)  # AWS runs: each stage's wall time
    train_seconds: float | None = None  # the training task's own seconds, on the task's vCPUs
    predict_seconds: tuple[float, int] | None = None  # the prediction tasks' own seconds: sum, tasks


def _core_seconds(rates: Rates, stage: str, units: int) -> float:
    return rates.stages[stage].core_seconds_per_unit * units


def map_transitions(items: int, per_item: int, deployment: Deployment) -> int:
    """A fan-out's route, its Map and the items' states (in child executions above the inline limit)."""
    if items == 0:
        return ROUTE_STATES
    reading = INLINE_STATES if items <= deployment.inline_map_threshold else DISTRIBUTED_STATES
    return ROUTE_STATES + reading + items * per_item


class _Builder:
    def __init__(
        self,
        volumes: Volumes,
        spec: PipelineSpec,
        rates: Rates,
        deployment: Deployment,
        measured: Measured,
        min_billed_bytes: int,
        min_billed_seconds: float,
    ) -> None:
        self.v, self.spec, self.rates, self.d, self.m = volumes, spec, rates, deployment, measured
        self.min_bytes, self.min_seconds = min_billed_bytes, min_billed_seconds
        self.queries: list[Query] = []

    # -- Lambda and Athena ---------------------------------------------------------------------
    def short_lambda(self, usage: AwsUsage, calls: int = 1) -> None:
        seconds = LAMBDA_CALL_SECONDS.value * calls
        usage.lambda_invocations += calls
        usage.lambda_seconds += seconds
        usage.lambda_gb_seconds += seconds * self.d.lambda_memory_mb / 1024
        usage.transitions += calls * STAGE_STATES
        usage.wall_seconds += seconds

    def sql_stage(self, stage: str, usage: AwsUsage, queries: list[tuple[str, int, float]], written: int) -> None:
        """Queries (name, bytes scanned, share of the stage's measured core seconds) run one
        after another by a SQL Lambda in its continuation loop; `written`: what their CTAS write."""
        work = self.sql_core_seconds(stage)
        scanned = billed = 0
        elapsed = 0.0
        for name, nbytes, share in queries:
            seconds = ATHENA_QUERY_SECONDS.value + work * share / ATHENA_VCPUS_PER_QUERY.value
            self.queries.append(Query(stage, name, nbytes, seconds))
            scanned, billed, elapsed = scanned + nbytes, billed + max(nbytes, self.min_bytes), elapsed + seconds
        if stage in self.m.athena_bytes:  # what Athena (or the local engine) said the stage scanned
            scanned = self.m.athena_bytes[stage]
            billed = max(scanned, len(queries) * self.min_bytes)
        usage.athena_queries += len(queries)
        usage.athena_bytes_scanned += scanned
        usage.athena_bytes_billed += billed
        usage.bytes_read += scanned
        usage.bytes_written += written
        usage.wall_seconds += elapsed
        rounds = max(1, math.ceil(elapsed / (self.d.sql_wait_seconds + self.d.loop_wait_seconds)))
        lambda_seconds = max(elapsed - (rounds - 1) * self.d.loop_wait_seconds, rounds * LAMBDA_CALL_SECONDS.value)
        usage.lambda_invocations += rounds
        usage.lambda_seconds += lambda_seconds
        usage.lambda_gb_seconds += lambda_seconds * self.d.lambda_memory_mb / 1024
        usage.transitions += STAGE_STATES + (rounds - 1) * LOOP_STATES
        # Athena writes a CTAS's output in files of roughly 128 MB, and reads inputs in such pieces.
        usage.s3_puts += len(queries) + math.ceil(written / 128e6)
        usage.s3_gets += len(queries) + math.ceil(scanned / 128e6)

    def sql_core_seconds(self, stage: str) -> float:
        v, rates = self.v, self.rates
        if stage == "staging":
            # The local stage also read the lines into raw Parquet: on AWS the ingest fan-out does that.
            staging = rates.stages["staging"]
            per_line = (staging.seconds_per_unit - rates.local_ingest_seconds_per_line) * staging.cores
            return max(per_line, 0.0) * v.source_lines
        unit = rates.stages[stage].unit
        return _core_seconds(rates, stage, v.count(unit))

    # -- the stages ----------------------------------------------------------------------------
    def staging(self) -> tuple[AwsUsage, int, float]:
        v, d, t = self.v, self.d, self.v.table_bytes
        usage = AwsUsage(rows=v.source_lines)
        self.short_lambda(usage)  # the ingest plan: list the source, write the item list
        usage.s3_puts += math.ceil(len(v.source.object_bytes) / 1000) + 1
        items: list[int] = []
        item_bytes = self.spec.source.ingest_item_mb * MB
        for size in v.source.object_bytes:
            pieces = 1 if v.source.compressed else max(1, math.ceil(size / item_bytes))
            items += [size // pieces] * pieces
        bytes_per_line = v.source.bytes / max(v.source_lines, 1)
        seconds = [
            LAMBDA_CALL_SECONDS.value + size / bytes_per_line / self.rates.ingest_lines_per_second_per_core
            for size in items
        ]
        longest = max(seconds, default=0.0)
        slots = max(1, min(self.spec.source.ingest_concurrency, len(items)))
        usage.lambda_invocations += len(items)
        usage.lambda_seconds += sum(seconds)
        usage.lambda_gb_seconds += sum(seconds) * d.ingest_lambda_memory_mb / 1024
        usage.transitions += map_transitions(len(items), INGEST_ITEM_STATES, d)
        usage.wall_seconds += max(longest, sum(seconds) / slots)
        raw_per_item = [size * self.rates.raw_bytes_per_source_byte for size in items]
        usage.s3_gets += len(items)
        usage.s3_puts += sum(math.ceil(r / RAW_PART_BYTES) + 1 for r in raw_per_item)
        usage.bytes_read += v.source.bytes
        usage.bytes_written += t["raw"]
        raw, index, rejects, staging = t["raw"], t["line_index"], t["rejects"], t["staging"]
        checks = round(v.staged_rows * ID_BYTES.value)
        self.sql_stage(
            "staging",
            usage,
            [
                ("line index", raw, 0.35),
                ("rejects", raw + index, 0.15),
                ("staging SELECT", raw + rejects, 0.45),
                ("staging checks", checks + rejects, 0.05),
            ],
            written=index + rejects + staging,
        )
        return usage, len(items), longest

    def features(self) -> AwsUsage:
        v, t = self.v, self.v.table_bytes
        usage = AwsUsage(rows=v.feature_rows)
        ids = round(v.feature_rows * ID_BYTES.value)
        queries = [("features", t["staging"], 0.9), ("features checks", 2 * ids, 0.1)]
        self.sql_stage("features", usage, queries, written=t["features"])
        return usage

    def batch_planning(self) -> AwsUsage:
        # Priced as the copy into the scoring table: an upper bound. Where the features files'
        # footers count the rows to score (services/batch_slices.py) the Lambda reads those
        # footers instead, and nothing here says whether Athena's writer keeps null counts.
        v, t = self.v, self.v.table_bytes
        usage = AwsUsage(rows=v.scoring_rows)
        chunks = max(1, math.ceil(v.batches / MAX_INSERT_PARTITIONS))
        count = round(v.feature_rows * ID_BYTES.value)
        queries = [("scoring count", count, 0.05), ("scoring chunks", t["features"], 0.45)]
        queries += [(f"scoring insert {i + 1}", t["scoring"] // chunks, 0.45 / chunks) for i in range(chunks)]
        queries.append(("batch counts", round(v.scoring_rows * ID_BYTES.value), 0.05))
        self.sql_stage("batch_planning", usage, queries, written=t["scoring"])
        usage.s3_puts += 2  # the manifest and the batch list
        return usage

    def training(self) -> tuple[AwsUsage, float]:
        v, d, rates = self.v, self.d, self.rates
        work = rates.stages["training"]
        if self.m.train_seconds is not None:
            run = self.m.train_seconds
        else:
            core_seconds = (work.fixed_seconds + work.seconds_per_unit * v.feature_rows) * rates.machine.cores
            run = core_seconds / d.train_vcpu
        seconds = FARGATE_START_SECONDS.value + rates.interpreter_start_seconds + run
        usage = AwsUsage(rows=v.training_rows, bytes_read=v.table_bytes["features"])
        self.fargate(usage, 1, seconds, d.train_vcpu, d.train_memory_mib)
        usage.transitions += TRAINING_STATES
        usage.wall_seconds += seconds
        usage.s3_gets += math.ceil(v.table_bytes["features"] / 128e6)
        usage.s3_puts += 2  # model and model card
        return usage, seconds

    def prediction(self) -> tuple[AwsUsage, float]:
        v, d, rates = self.v, self.d, self.rates
        if self.m.predict_seconds is not None and self.m.predict_seconds[1]:
            total, tasks = self.m.predict_seconds
            run = total / tasks
        else:
            scoring = v.rows_in_batch / (rates.scoring_rows_per_second_per_core * d.predict_vcpu)
            run = scoring + rates.task_overhead_seconds
        seconds = FARGATE_START_SECONDS.value + rates.interpreter_start_seconds + run
        t = v.table_bytes
        usage = AwsUsage(rows=v.scoring_rows, bytes_read=t["scoring"], bytes_written=t["predictions"])
        if v.batches:
            self.fargate(usage, v.batches, seconds, d.predict_vcpu, d.predict_memory_mib)
            waves = math.ceil(v.batches / self.spec.batches.max_concurrency)
            usage.wall_seconds = waves * seconds
        usage.transitions += map_transitions(v.batches, BATCH_ITEM_STATES, d)
        # Per task: model, manifest, its marker and its scoring file read; its scoring folder
        # listed (a LIST is billed as a PUT); its predictions and marker written.
        usage.s3_gets += 4 * v.batches
        usage.s3_puts += 3 * v.batches
        return usage, seconds

    def fargate(self, usage: AwsUsage, tasks: int, seconds: float, vcpu: float, memory_mib: int) -> None:
        billed = max(seconds, self.min_seconds) * tasks
        usage.fargate_tasks += tasks
        usage.fargate_vcpu_seconds += billed * vcpu
        usage.fargate_gb_seconds += billed * memory_mib / 1024

    def aggregation(self) -> AwsUsage:
        v, t = self.v, self.v.table_bytes
        usage = AwsUsage(rows=v.staged_rows)
        labels = round(v.feature_rows * 2 * ID_BYTES.value)
        queries = [
            ("aggregation", t["staging"] + labels + t["predictions"], 0.85),
            ("prediction counts", round(v.scoring_rows * ID_BYTES.value), 0.05),
            # The results' value_source counted (verify_results): one column, at most an id's bytes a row.
            ("result checks", round(v.staged_rows * ID_BYTES.value), 0.1),
        ]
        self.sql_stage("aggregation", usage, queries, written=t["results"])
        return usage


def aws_plan(
    volumes: Volumes,
    spec: PipelineSpec,
    rates: Rates,
    deployment: Deployment,
    *,
    measured: Measured | None = None,
    min_billed_bytes: int = 10_000_000,
    min_billed_seconds: float = 60.0,
) -> AwsPlan:
    """Per stage, what a run with these volumes uses on AWS (`measured`: a finished run's own
    figures, used where present). The minimums are the prices file's (Athena per query, Fargate
    per task)."""
    m = measured or Measured()
    b = _Builder(volumes, spec, rates, deployment, m, min_billed_bytes, min_billed_seconds)
    stages: dict[str, AwsUsage] = {}
    for name in SHORT_STAGES:
        stages[name] = AwsUsage()
        b.short_lambda(stages[name])
    stages["cleanup"].transitions += END_STATES
    stages["staging"], items, item_seconds = b.staging()
    stages["features"] = b.features()
    stages["training"], train_seconds = b.training()
    stages["batch_planning"] = b.batch_planning()
    stages["prediction"], predict_seconds = b.prediction()
    stages["aggregation"] = b.aggregation()
    hours = sum(u.wall_seconds for u in stages.values()) / 3600
    held = sum(n for table, n in volumes.table_bytes.items() if table not in ("results", "rejects"))
    stages["staging"].s3_gb_hours = held / 1e9 * hours  # intermediates, until cleanup removes them
    for stage, seconds in m.stage_seconds.items():
        if stage in stages:
            stages[stage].wall_seconds = seconds
    ordered = {name: stages[name] for name in STAGE_NAMES}
    return AwsPlan(
        stages=ordered,
        queries=b.queries,
        ingest_items=items,
        ingest_item_seconds=item_seconds,
        batches=volumes.batches,
        predict_task_seconds=predict_seconds,
        train_task_seconds=train_seconds,
    )
