"""The benchmark's training target compares like with like: the sample query and fits timed
inside the training task against the same calls in the floor's plain process; the stage's
other work (task start, the report's diagnostics, files) is shown beside it, not hidden."""

from __future__ import annotations

from typing import Any

from benchmarks.__main__ import _training_over_floor
from benchmarks.targets import _training_note

FLOOR: dict[str, Any] = {"phases": {"training_sample": 0.2, "training": 0.8}}


def test_the_tasks_own_sample_and_fits_are_compared_with_the_floors() -> None:
    pipeline = {"stages": {"training": {"seconds": 2.5}}, "training_phases": {"sample": 0.25, "fit": 0.95}}
    assert _training_over_floor(pipeline, FLOOR) == 1.2  # (0.25 + 0.95) / (0.2 + 0.8), not 2.5 / 1.0
    note = _training_note(pipeline)
    assert note == "stage 2.50 s: sample 0.25, fit 0.95, task start and files 1.30"


def test_a_run_without_recorded_phases_is_compared_stage_to_fits() -> None:
    pipeline = {"stages": {"training": {"seconds": 2.5}}}
    assert _training_over_floor(pipeline, FLOOR) == 2.5
    assert _training_note(pipeline) == ""
    assert _training_over_floor(pipeline, None) is None
