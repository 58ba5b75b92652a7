"""The issue's targets, checked against the measurements. Reported, never asserted:
a loaded machine can miss a target the code meets."""

from __future__ import annotations

from typing import Any

GB = 1_000_000_000
E2E_ROWS = 10_000_000
E2E_ROWS_PER_SECOND = 150_000
RATIO_ROWS = (1_000_000, 10_000_000)
# Issue 17: prediction stage rows/s per core 3x the 10M figure before it (132,506), training in
# a run within 1.3x the same fits alone, and the model as good as before it: holdout R² within
# 0.005 of 0.886 (the age example at 1M; 0.887 at 10M), coverage within 2 points of the spec's.
SCORING_PER_CORE_BEFORE = 132_506
SCORING_PER_CORE_GAIN = 3.0
TRAINING_OVER_FLOOR = 1.3
R2_BEFORE = 0.886
R2_TOLERANCE = 0.005
COVERAGE_TOLERANCE = 0.02


def _status(ok: bool | None) -> str:
    return "N/A" if ok is None else "PASS" if ok else "MISS"


def _target(name: str, goal: str, at: str, measured: str, ok: bool | None, note: str = "") -> dict[str, Any]:
    return {"name": name, "target": goal, "at": at, "measured": measured, "status": _status(ok), "note": note}


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    runs: dict[int, dict[str, Any]] = {int(k): v for k, v in results["runs"].items()}
    rows = sorted(runs)
    out: list[dict[str, Any]] = []
    if not rows:
        return out
    at_e2e = E2E_ROWS if E2E_ROWS in runs else rows[-1]
    rate = runs[at_e2e]["summary"]["source_rows_per_second"]
    failed = {
        r: runs[r]["pipeline"].get("failure") for r in rows if runs[r]["summary"].get("pipeline_status") == "FAILED"
    }
    notes = [] if at_e2e == E2E_ROWS else [f"defined at {E2E_ROWS:,} rows; measured at {at_e2e:,}"]
    ceiling = runs[at_e2e]["summary"].get("ceiling_rows_per_second")
    if ceiling:
        reach = "out of reach on this machine" if ceiling < E2E_ROWS_PER_SECOND else "within reach"
        notes.append(f"ceiling {ceiling:,.0f} rows/s: {reach} (benchmarks/ceiling.py)")
    note = "; ".join(notes)
    out.append(
        _target(
            "end_to_end_throughput",
            f">= {E2E_ROWS_PER_SECOND:,} source rows/s",
            f"{at_e2e:,} rows",
            "pipeline FAILED" if at_e2e in failed else f"{rate:,.0f} rows/s",
            at_e2e not in failed and rate >= E2E_ROWS_PER_SECOND,
            f"{failed[at_e2e]}" if at_e2e in failed else note,
        )
    )
    ratio_rows = [r for r in rows if r in RATIO_ROWS] or rows
    for r in ratio_rows:
        ratio = runs[r]["summary"].get("pipeline_over_floor")
        out.append(
            _target(
                "pipeline_over_floor",
                "<= 1.3x the floor's time",
                f"{r:,} rows",
                "pipeline FAILED" if r in failed else "not measured" if ratio is None else f"{ratio:.2f}x",
                False if r in failed else None if ratio is None else ratio <= 1.3,
            )
        )
    for r in rows:
        speedup = runs[r]["summary"].get("scoring_over_rowwise")
        out.append(
            _target(
                "scoring_over_rowwise",
                ">= 500x the row-by-row rows/s per core",
                f"{r:,} rows",
                "not measured" if speedup is None else f"{speedup:,.0f}x",
                None if speedup is None else speedup >= 500,
            )
        )
    for r in rows:
        peak = runs[r]["summary"]["peak_memory_bytes"]
        out.append(
            _target("peak_memory", "<= 2 GB (process tree)", f"{r:,} rows", f"{peak / GB:.2f} GB", peak <= 2 * GB)
        )
    small, large = rows[0], rows[-1]
    growth = runs[large]["summary"]["peak_memory_bytes"] / max(1, runs[small]["summary"]["peak_memory_bytes"])
    out.append(
        _target(
            "memory_growth",
            "peak at 10M within 20% of the peak at 1M",
            f"{large:,} vs {small:,} rows",
            f"{growth:.2f}x" if large != small else "one row count",
            None if large == small else growth <= 1.2,
        )
    )
    for r in rows:
        overhead = runs[r].get("task_overhead", {}).get("overhead_seconds")
        out.append(
            _target(
                "task_overhead",
                "< 1 s per prediction task",
                f"{r:,} rows",
                "not measured" if overhead is None else f"{overhead:.2f} s",
                None if overhead is None else overhead < 1.0,
            )
        )
    out += _model_targets(runs)
    speed = results.get("concurrency", {}).get("speedup")
    at = results.get("concurrency", {}).get("rows")
    out.append(
        _target(
            "concurrency_speedup",
            "prediction stage >= 1.7x faster at max_concurrency 2 than 1",
            f"{at:,} rows" if at else "-",
            "not measured" if speed is None else f"{speed:.2f}x",
            None if speed is None else speed >= 1.7,
        )
    )
    return out


def _training_note(pipeline: dict[str, Any]) -> str:
    """What the training stage spent beside the sample and fits the target compares."""
    stage = pipeline.get("stages", {}).get("training", {}).get("seconds")
    phases = pipeline.get("training_phases") or {}
    if not stage or not phases:
        return ""
    parts = ", ".join(f"{name} {seconds:.2f}" for name, seconds in phases.items())
    rest = stage - sum(phases.values())
    return f"stage {stage:.2f} s: {parts}, task start and files {rest:.2f}"


def _model_targets(runs: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """Issue 17's: cheaper scoring and training, the same model quality."""
    out = []
    goal = SCORING_PER_CORE_BEFORE * SCORING_PER_CORE_GAIN
    for r, run in sorted(runs.items()):
        summary, pipeline = run["summary"], run["pipeline"]
        per_core = summary.get("scoring_rows_per_second_per_core")
        out.append(
            _target(
                "prediction_per_core",
                f">= {goal:,.0f} rows/s per core ({SCORING_PER_CORE_GAIN:g}x {SCORING_PER_CORE_BEFORE:,})",
                f"{r:,} rows",
                "not measured" if per_core is None else f"{per_core:,.0f} rows/s",
                None if per_core is None else per_core >= goal,
            )
        )
        ratio = summary.get("training_over_floor")
        out.append(
            _target(
                "training_over_floor",
                f"<= {TRAINING_OVER_FLOOR}x the floor's sample and fits",
                f"{r:,} rows",
                "not measured" if ratio is None else f"{ratio:.2f}x",
                None if ratio is None else ratio <= TRAINING_OVER_FLOOR,
                _training_note(pipeline),
            )
        )
        r2 = pipeline.get("holdout_r2")
        out.append(
            _target(
                "holdout_r2",
                f">= {R2_BEFORE - R2_TOLERANCE:.3f} (within {R2_TOLERANCE} of {R2_BEFORE})",
                f"{r:,} rows",
                "not measured" if r2 is None else f"{r2:.4f}",
                None if r2 is None else r2 >= R2_BEFORE - R2_TOLERANCE,
            )
        )
        coverage, asked = pipeline.get("interval_coverage"), pipeline.get("interval_coverage_asked")
        out.append(
            _target(
                "interval_coverage",
                f"within {COVERAGE_TOLERANCE * 100:.0f} points of the spec's",
                f"{r:,} rows",
                "not measured" if coverage is None or asked is None else f"{coverage:.3f} (asked {asked:g})",
                None if coverage is None or asked is None else abs(coverage - asked) <= COVERAGE_TOLERANCE,
            )
        )
    return out
