"""The domain's cost arithmetic: rates read and checked, the volumes of a planned and of a
finished run, the local time model, and the ledger kept in run.json."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest

from domain.cost.ledger import Cost, Figure, Ledger, StageUse
from domain.cost.local_time import local_stage_seconds, prediction_seconds
from domain.cost.rates import rates_from_mapping
from domain.cost.volumes import SourceSize, plan_volumes, run_volumes, source_size
from domain.errors import SpecError
from domain.run_state import RunState, StageRecord
from domain.services.batching import plan_rows_per_batch
from domain.spec import STAGE_NAMES
from tests.unit.cost_fixtures import rates, rates_mapping, spec


def test_a_rates_file_missing_a_stage_is_refused_naming_the_file_and_the_stage() -> None:
    data = rates_mapping()
    del data["stages"]["aggregation"]
    with pytest.raises(SpecError, match=r"rates.json \[stages\]: no rate for \['aggregation'\]"):
        rates_from_mapping(data, "rates.json")


def test_a_rates_file_of_another_version_is_refused() -> None:
    with pytest.raises(SpecError, match="version 2, this batchml reads version 1"):
        rates_from_mapping(rates_mapping(version=2), "rates.json")


def test_a_negative_rate_is_refused_naming_its_key() -> None:
    data = rates_mapping()
    data["prediction"]["rows_per_second_per_core"] = -1
    with pytest.raises(SpecError, match=r"\[prediction\]: rows_per_second_per_core must be a non-negative number"):
        rates_from_mapping(data, "rates.json")


def test_a_planned_runs_counts_reconcile_like_a_runs() -> None:
    r = rates()
    volumes = plan_volumes(spec(), source_size(1_000_003, None, r, "--rows"), r)
    assert volumes.staged_rows + volumes.rejected_rows == volumes.source_lines == 1_000_003
    assert volumes.labelled_rows + volumes.scoring_rows == volumes.feature_rows == volumes.staged_rows
    assert volumes.rows_per_batch == plan_rows_per_batch(volumes.scoring_rows, spec().batches)
    assert volumes.batches == math.ceil(volumes.scoring_rows / volumes.rows_per_batch)
    assert volumes.training_rows == 200_000  # the spec's training_sample_cap
    # The raw table follows the source's bytes; the others their rows.
    assert volumes.table_bytes["raw"] == round(1_000_003 * 1000 * 0.25)
    assert volumes.table_bytes["staging"] == round(volumes.staged_rows * 100)


def test_a_source_given_in_bytes_has_the_measured_bytes_per_line() -> None:
    source = source_size(None, 5_000_000, rates(), "--source-bytes")
    assert (source.lines, source.bytes, source.object_bytes) == (5_000, 5_000_000, (5_000_000,))


def test_local_time_is_fixed_plus_per_unit_work_scaled_to_the_cores() -> None:
    r, s = rates(), spec()
    volumes = plan_volumes(s, source_size(2_000_000, None, r, "--rows"), r)
    on_two, on_one = local_stage_seconds(volumes, s, r, cores=2), local_stage_seconds(volumes, s, r, cores=1)
    assert list(on_two) == list(STAGE_NAMES)
    assert on_two["staging"] == pytest.approx(0.5 + 1e-6 * 2_000_000)
    assert on_one["staging"] == pytest.approx(0.5 + 1e-6 * 2_000_000 * 2)  # measured on 2 cores, run on 1
    assert on_two["publish"] == on_one["publish"] == 0.5


def test_staging_uses_no_more_cores_than_the_source_has_files() -> None:
    """Each file is staged in its own one-thread connection: one file keeps one core busy."""
    r, s = rates(), spec()
    lines = 2_000_000
    one_file = SourceSize(object_bytes=(lines * 1000,), lines=lines, how="a listing")
    four_files = replace(one_file, object_bytes=(lines * 250,) * 4)
    seconds = {
        name: local_stage_seconds(plan_volumes(s, source, r), s, r, cores=2)["staging"]
        for name, source in (("one", one_file), ("four", four_files), ("total", source_size(lines, None, r, "--rows")))
    }
    assert seconds["one"] == pytest.approx(0.5 + 1e-6 * lines * 2)  # measured on 2 cores, one busy
    assert seconds["four"] == seconds["total"] == pytest.approx(0.5 + 1e-6 * lines)


def test_prediction_runs_in_waves_of_max_concurrency_tasks() -> None:
    r, s = rates(), spec(max_concurrency=2, rows_per_batch=100_000)
    volumes = plan_volumes(s, source_size(1_000_000, None, r, "--rows"), r)
    # 495,000 rows to score: 5 batches rounded up to 6 (three full waves of two) of 82,500.
    assert (volumes.batches, volumes.rows_in_batch) == (6, 82_500)
    assert prediction_seconds(volumes, s, r, cores=2) == pytest.approx(3 * (82_500 / 100_000 + 0.1))
    # On one core the two tasks of a wave share it.
    assert prediction_seconds(volumes, s, r, cores=1) == pytest.approx(3 * (82_500 / 50_000 + 0.1))


def finished_run() -> RunState:
    state = RunState(run_id="r1", fingerprints={}, started_at=0.0, status="SUCCEEDED", finished_at=10.0)
    reports: dict[str, dict[str, Any]] = {
        "staging": {"source_files": 3, "source_lines": 3_000, "source_bytes": 3_000_001, "staged_rows": 2_990},
        "features": {"feature_rows": 2_990, "labelled_rows": 1_000, "scoring_rows": 1_990},
        "training": {"training_rows": 1_000},
        "batch_planning": {"batches": 2, "rows_per_batch": 995},
        "cleanup": {"table_bytes": {"staging": 123_456}, "table_files": {"staging": 2}},
    }
    for name, report in reports.items():
        state.stages[name] = StageRecord("SUCCEEDED", 1, 1.0, report)
    state.stages["staging"].report["rejected_rows"] = 10
    return state


def test_a_finished_runs_volumes_are_its_reports_and_its_cleanups_measured_sizes() -> None:
    volumes = run_volumes(finished_run(), rates())
    assert volumes.source == SourceSize((1_000_000, 1_000_000, 1_000_001), 3_000, "this run")
    assert (volumes.staged_rows, volumes.rejected_rows, volumes.scoring_rows, volumes.batches) == (2_990, 10, 1_990, 2)
    assert volumes.table_bytes["staging"] == 123_456  # measured, not the rates' 100 bytes a row
    assert volumes.table_bytes["features"] == 2_990 * 100
    assert volumes.table_files == {"staging": 2}


def test_the_ledger_goes_into_run_json_and_comes_back() -> None:
    state = finished_run()
    state.ledger = Ledger(
        backend="local",
        stages={"staging": StageUse(seconds=1.5, rows=3_000, bytes_scanned=42, function_seconds=1.5)},
        transitions=Figure(22, "estimated"),
        s3_puts=Figure(28, "estimated"),
        s3_gets=Figure(23, "estimated"),
        aws_cost=Cost(0.01, {"athena": 0.001}, "us-east-1", "prices.toml us-east-1", "estimated"),
        plan={"wall_seconds": 12.0},
    )
    assert RunState.from_json(state.to_json()) == state


def test_a_run_json_written_before_the_ledger_still_loads() -> None:
    data = finished_run().to_json()
    del data["ledger"]
    assert RunState.from_json(data).ledger is None
