"""How long a local run takes: each stage's measured rate, scaled to this machine's cores.

A stage's time is fixed + per-unit work; the per-unit work was measured with all of the
measuring machine's cores busy (DuckDB uses every core) and scales with the core count. The
prediction stage is waves of tasks: max_concurrency at a time, each scoring its batch at the
measured per-core rate on its own threads, plus the measured per-task overhead.
"""

from __future__ import annotations

import math

from domain.cost.rates import Rates
from domain.cost.volumes import Volumes
from domain.spec import STAGE_NAMES, PipelineSpec


def prediction_seconds(volumes: Volumes, spec: PipelineSpec, rates: Rates, cores: int, threads: int = 1) -> float:
    if volumes.batches == 0:
        return 0.0
    slots = spec.batches.max_concurrency
    # Tasks beyond the cores share them (the local runner starts max_concurrency at once).
    share = min(1.0, cores / (slots * threads))
    per_task = volumes.rows_in_batch / (rates.scoring_rows_per_second_per_core * threads * share)
    waves = math.ceil(volumes.batches / slots)
    return waves * (per_task + rates.task_overhead_seconds)


def staging_cores(volumes: Volumes, cores: int) -> int:
    """The cores staging's per-line work can use: it reads each source file in its own
    one-thread connection, files in parallel, so a source of fewer files than cores leaves the
    others idle (a single 200,000-line file staged in twice the time the rate measured over
    four files on two cores predicts). A source given as one total is taken to have enough."""
    if not volumes.source.split_known:
        return max(cores, 1)
    return max(min(cores, len(volumes.source.object_bytes)), 1)


def local_stage_seconds(
    volumes: Volumes, spec: PipelineSpec, rates: Rates, cores: int, threads: int = 1
) -> dict[str, float]:
    """Seconds per stage, in the graph's order, on a machine with `cores` cores."""
    scale = rates.machine.cores / max(cores, 1)
    seconds: dict[str, float] = {}
    for stage in STAGE_NAMES:
        if stage == "prediction":
            seconds[stage] = prediction_seconds(volumes, spec, rates, cores, threads)
            continue
        rate = rates.stages[stage]
        used = rates.machine.cores / staging_cores(volumes, cores) if stage == "staging" else scale
        seconds[stage] = rate.fixed_seconds + rate.seconds_per_unit * volumes.count(rate.unit) * used
    return seconds
