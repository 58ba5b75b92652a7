"""How much data each stage handles: from a planned source size, or from what a run reported.

The same Volumes drive the local time model (domain/cost/local_time.py) and the AWS usage
model (adapters/aws/cost_shape.py), so a plan and a finished run's ledger are computed alike.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from domain.cost.rates import TABLE_ROWS, TABLES, Rates
from domain.run_state import RunState
from domain.services.batching import plan_rows_per_batch
from domain.spec import PipelineSpec


@dataclass(frozen=True)
class SourceSize:
    """What is known of the source before a run: its objects' sizes and its line count."""

    object_bytes: tuple[int, ...]
    lines: int
    how: str  # how the size was found, for the plan's header
    compressed: bool = False
    split_known: bool = True  # False: given as one total, its files unknown (source_size)

    @property
    def bytes(self) -> int:
        return sum(self.object_bytes)


@dataclass(frozen=True)
class Volumes:
    source: SourceSize
    staged_rows: int
    rejected_rows: int
    feature_rows: int
    labelled_rows: int
    scoring_rows: int
    training_rows: int
    batches: int
    rows_per_batch: int
    table_bytes: Mapping[str, int] = field(default_factory=dict)
    table_files: Mapping[str, int] = field(default_factory=dict)  # measured by a run's cleanup; empty in a plan

    @property
    def source_lines(self) -> int:
        return self.source.lines

    def count(self, unit: str | None) -> int:
        """The count a stage rate or a table size is measured per (rates.STAGE_UNITS, TABLE_ROWS)."""
        if unit is None:
            return 0
        value = getattr(self, unit)
        assert isinstance(value, int), unit
        return value

    @property
    def rows_in_batch(self) -> int:
        """Rows of the largest batch: batch planning shares the rows evenly."""
        return math.ceil(self.scoring_rows / self.batches) if self.batches else 0


def source_size(lines: int | None, source_bytes: int | None, rates: Rates, how: str) -> SourceSize:
    """A source given by its line count or its bytes, the other derived from the measured
    bytes per line; one object (the plan cannot know how it is split)."""
    per_line = rates.profile.bytes_per_line
    if lines is None and source_bytes is None:
        raise ValueError("a source size needs lines or bytes")
    if lines is None:
        lines = math.ceil((source_bytes or 0) / per_line)
    if source_bytes is None:
        source_bytes = math.ceil(lines * per_line)
    return SourceSize(object_bytes=(source_bytes,), lines=lines, how=how, split_known=False)


def plan_volumes(spec: PipelineSpec, source: SourceSize, rates: Rates) -> Volumes:
    """The volumes a run of `spec` on `source` would have, if the data is shaped like the
    measured data (its reject and labelled fractions, its table bytes per row)."""
    profile = rates.profile
    rejected = round(source.lines * profile.rejected_fraction)
    staged = source.lines - rejected
    labelled = round(staged * profile.labelled_fraction)
    scoring = staged - labelled
    per_batch = plan_rows_per_batch(scoring, spec.batches)
    batches = math.ceil(scoring / per_batch) if scoring else 0
    volumes = Volumes(
        source=source,
        staged_rows=staged,
        rejected_rows=rejected,
        feature_rows=staged,
        labelled_rows=labelled,
        scoring_rows=scoring,
        training_rows=min(labelled, spec.model.training_sample_cap),
        batches=batches,
        rows_per_batch=per_batch,
    )
    sizes = {table: round(rates.table_bytes_per_row[table] * volumes.count(TABLE_ROWS[table])) for table in TABLES}
    # The raw table holds the lines' text: its size follows the source's bytes, not its lines.
    sizes["raw"] = round(source.bytes * rates.raw_bytes_per_source_byte)
    return replace(volumes, table_bytes=sizes)


def run_volumes(state: RunState, rates: Rates) -> Volumes:
    """The volumes a run reported; table sizes the run did not measure come from the rates."""
    staging, features = state.report("staging"), state.report("features")
    planning, cleanup = state.report("batch_planning"), state.report("cleanup")
    files = max(int(staging.get("source_files", 1)), 1)
    total = int(staging.get("source_bytes", 0))
    objects = tuple([total // files] * (files - 1) + [total - (total // files) * (files - 1)])
    volumes = Volumes(
        source=SourceSize(object_bytes=objects, lines=int(staging.get("source_lines", 0)), how="this run"),
        staged_rows=int(staging.get("staged_rows", 0)),
        rejected_rows=int(staging.get("rejected_rows", 0)),
        feature_rows=int(features.get("feature_rows", 0)),
        labelled_rows=int(features.get("labelled_rows", 0)),
        scoring_rows=int(features.get("scoring_rows", 0)),
        training_rows=int(state.report("training").get("training_rows", 0)),
        batches=int(planning.get("batches", 0)),
        rows_per_batch=int(planning.get("rows_per_batch", 0)),
    )
    measured: Mapping[str, int] = cleanup.get("table_bytes", {})
    sizes = {t: round(rates.table_bytes_per_row[t] * volumes.count(TABLE_ROWS[t])) for t in TABLES}
    sizes["raw"] = round(volumes.source.bytes * rates.raw_bytes_per_source_byte)
    sizes.update({t: int(n) for t, n in measured.items() if t in sizes})
    table_files = {t: int(n) for t, n in dict(cleanup.get("table_files", {})).items()}
    return replace(volumes, table_bytes=sizes, table_files=table_files)
