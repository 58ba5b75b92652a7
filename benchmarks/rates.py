"""The cost model's rates from a benchmark's results: `python -m benchmarks ... --write-rates`
writes them to adapters/shared/rates.json (the file `batchml plan` and every run's ledger read).

Per stage, seconds = fixed + per-unit x units, fitted over the benchmark's row counts
(weighted by 1/seconds^2, so the small runs' fixed costs count as much as the large runs'
per-row costs); the prediction rate from the tasks' own times; table sizes from what the
run's cleanup measured; the ingest rate from benchmarks/ingest_rate.py. Each figure keeps the
run it came from, and the file keeps the machine.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from domain.cost.rates import RATES_VERSION, STAGE_UNITS, TABLE_ROWS, TABLES, rates_from_mapping

RATES_FILE = Path(__file__).resolve().parent.parent / "adapters" / "shared" / "rates.json"


def _units(run: dict[str, Any], unit: str) -> int:
    pipeline = run["pipeline"]
    counts = {
        "source_lines": pipeline["source_lines"],
        "staged_rows": pipeline["staged_rows"],
        "feature_rows": pipeline["stages"]["features"]["rows"],
    }
    return int(counts[unit])


def fit_line(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """(fixed, per_unit), both >= 0, for seconds = fixed + per_unit * units over (units, seconds)."""
    if len({x for x, _ in points}) < 2:
        x, y = max(points)
        return (0.0, y / x) if x else (y, 0.0)
    weights = [1 / max(y, 1e-3) ** 2 for _, y in points]
    total = sum(weights)
    mx = sum(w * x for w, (x, _) in zip(weights, points, strict=True)) / total
    my = sum(w * y for w, (_, y) in zip(weights, points, strict=True)) / total
    sxx = sum(w * (x - mx) ** 2 for w, (x, _) in zip(weights, points, strict=True))
    sxy = sum(w * (x - mx) * (y - my) for w, (x, y) in zip(weights, points, strict=True))
    slope = max(sxy / sxx, 0.0)
    fixed = my - slope * mx
    if fixed < 0:  # a line through the origin instead
        slope = sum(w * x * y for w, (x, y) in zip(weights, points, strict=True)) / sum(
            w * x * x for w, (x, _) in zip(weights, points, strict=True)
        )
        fixed = 0.0
    return fixed, slope


def _stages(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for stage, unit in STAGE_UNITS.items():
        seconds = [float(run["pipeline"]["stages"][stage]["seconds"]) for run in runs]
        if unit is None:
            fixed, slope = sum(seconds) / len(seconds), 0.0
        else:
            fixed, slope = fit_line([(_units(run, unit), s) for run, s in zip(runs, seconds, strict=True)])
        points = [[_units(run, unit) if unit else 0, s] for run, s in zip(runs, seconds, strict=True)]
        out[stage] = {"unit": unit, "fixed_seconds": round(fixed, 4), "seconds_per_unit": slope, "measured": points}
    return out


def _prediction(run: dict[str, Any]) -> dict[str, Any]:
    pipeline, overhead = run["pipeline"], run.get("task_overhead")
    if not overhead:
        raise ValueError("the rates need the task overhead measurement: run the benchmark without --skip-floor")
    batches = pipeline["batches"]
    threads = pipeline["cores_used_for_prediction"] / pipeline["max_concurrency"]
    rows = pipeline["predicted_rows"] / batches["count"]
    # A tiny, noisy measurement can come out below zero: no overhead is the floor.
    warm, fresh = (max(float(overhead[k]), 0.0) for k in ("overhead_seconds", "fresh_interpreter_overhead_seconds"))
    task = batches["mean_seconds"] - warm
    return {
        "rows_per_second_per_core": round(rows / task / threads, 1),
        "task_overhead_seconds": warm,
        "interpreter_start_seconds": fresh,
        "measured": {
            "rows": pipeline["predicted_rows"],
            "tasks": batches["count"],
            "mean_task_seconds": batches["mean_seconds"],
        },
    }


def _table_bytes(run: dict[str, Any]) -> dict[str, float]:
    pipeline = run["pipeline"]
    sizes = pipeline.get("table_bytes") or {}
    missing = [t for t in TABLES if t not in sizes]
    if missing:
        raise ValueError(f"the run at {run['dataset']['rows']:,} rows measured no size for {missing}")
    counts = {
        "source_lines": pipeline["source_lines"],
        "rejected_rows": pipeline["rejected_rows"],
        "staged_rows": pipeline["staged_rows"],
        "feature_rows": pipeline["stages"]["features"]["rows"],
        "scoring_rows": pipeline["scoring_rows"],
    }
    return {t: round(sizes[t] / max(counts[TABLE_ROWS[t]], 1), 2) for t in TABLES}


def rates_from_results(results: dict[str, Any]) -> dict[str, Any]:
    """The rates file's content; checked by the same reader `batchml plan` uses."""
    runs = [
        run
        for _, run in sorted(results["runs"].items(), key=lambda item: int(item[0]))
        if run["pipeline"]["status"] == "SUCCEEDED"
    ]
    if not runs:
        raise ValueError("no successful pipeline run in the results: no rates")
    largest = runs[-1]
    pipeline = largest["pipeline"]
    ingest = largest.get("ingest")
    if not ingest:
        raise ValueError("the results hold no ingest measurement (benchmarks/ingest_rate.py)")
    features = pipeline["stages"]["features"]["rows"]
    rates = {
        "version": RATES_VERSION,
        "measured_at": results["started_at"],
        "command": results["command"],
        "machine": {**results["machine"], "load_average": results["load_average"].get("start", [])},
        "profile": {
            "example": "examples/age (benchmarks/generate.py)",
            "bytes_per_line": round(largest["dataset"]["bytes"] / pipeline["source_lines"], 2),
            "rejected_fraction": round(pipeline["rejected_rows"] / pipeline["source_lines"], 6),
            "labelled_fraction": round((features - pipeline["scoring_rows"]) / features, 6),
        },
        "stages": _stages(runs),
        "prediction": _prediction(largest),
        "ingest": {
            k: ingest[k]
            for k in ("lines_per_second_per_core", "raw_bytes_per_source_byte", "local_seconds_per_line", "lines")
        },
        "table_bytes_per_row": _table_bytes(largest),
        "rows_measured": [run["dataset"]["rows"] for run in runs],
    }
    rates_from_mapping(rates, "the benchmark's rates")  # the same checks as when they are read
    return rates


def write_rates(results: dict[str, Any], path: Path = RATES_FILE) -> Path:
    path.write_text(json.dumps(rates_from_results(results), indent=1) + "\n")
    return path
