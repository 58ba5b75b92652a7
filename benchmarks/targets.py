"""The issue's targets, checked against the measurements. Reported, never asserted:
a loaded machine can miss a target the code meets."""

from __future__ import annotations

from typing import Any

GB = 1_000_000_000
E2E_ROWS = 10_000_000
E2E_ROWS_PER_SECOND = 150_000
RATIO_ROWS = (1_000_000, 10_000_000)


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
