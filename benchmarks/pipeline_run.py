"""The pipeline end to end: `batchml run SPEC` as a child process, measured from outside,
with the per-stage breakdown read back from the run's own run.json and events.jsonl."""

from __future__ import annotations

import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from benchmarks.memory import run_measured
from domain.cost.ledger import STAGE_ROWS
from entrypoints.settings import Settings

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "age"


def write_spec(data: Path, lake: Path, spec_file: Path, max_concurrency: int | None = None) -> Path:
    """The example's spec pointed at `data` and `lake`, as `batchml demo` does."""
    spec = tomllib.loads((EXAMPLE / "spec.toml").read_text())
    spec["source"]["path"] = str(data)
    spec["output"]["root"] = str(lake)
    spec["sql"] = {"staging": str(EXAMPLE / "staging.sql"), "features": str(EXAMPLE / "features.sql")}
    if max_concurrency is not None:
        spec["batches"]["max_concurrency"] = max_concurrency
    spec_file.parent.mkdir(parents=True, exist_ok=True)
    spec_file.write_text(tomli_w.dumps(spec))
    return spec_file


def spec_value(spec_file: Path, section: str, key: str) -> Any:
    return tomllib.loads(spec_file.read_text())[section][key]


def _report(state: dict[str, Any], stage: str, key: str) -> Any:
    return state["stages"].get(stage, {}).get("report", {}).get(key)


def run_pipeline(spec_file: Path, lake: Path, log: Path) -> dict[str, Any]:
    """Measures one run. A run that fails is measured too (status, error, the stages that
    finished): a benchmark that dies with the pipeline would hide where it failed."""
    measured = run_measured([sys.executable, "-m", "entrypoints.cli", "run", str(spec_file)], log, cwd=REPO)
    states = sorted(lake.glob("runs/*/run.json"), key=lambda p: p.stat().st_mtime)
    if not states:
        raise RuntimeError(f"batchml run {spec_file} exited {measured.returncode} before a run started; see {log}")
    run_dir = states[-1].parent
    state = json.loads(states[-1].read_text())
    stages = {name: _stage(name, record) for name, record in state["stages"].items()}
    for name, peak in stage_peaks(run_dir / "events.jsonl", measured.timeline).items():
        if name in stages:
            stages[name]["peak_rss_bytes"] = peak
    source_lines = _report(state, "staging", "source_lines")
    succeeded = measured.returncode == 0 and state["status"] == "SUCCEEDED"
    concurrency = int(spec_value(spec_file, "batches", "max_concurrency"))
    failure = state.get("failure") or {}
    return {
        "run_id": state["run_id"],
        "status": state["status"] if measured.returncode == 0 else "FAILED",
        "failure": None if succeeded else f"{failure.get('stage')}: {failure.get('error')}"[:500],
        "wall_seconds": round(measured.wall_seconds, 3),
        "peak_rss_bytes": measured.peak_rss_bytes,
        "rss_samples": measured.rss_samples,
        "source_lines": source_lines,
        # Only a finished run has a throughput: a failed one did not do the work.
        "source_rows_per_second": round(source_lines / measured.wall_seconds, 1) if succeeded else None,
        "staged_rows": _report(state, "staging", "staged_rows"),
        "rejected_rows": _report(state, "staging", "rejected_rows"),
        "scoring_rows": _report(state, "batch_planning", "scoring_rows"),
        "predicted_rows": _report(state, "prediction", "predicted_rows"),
        "model_version": _report(state, "training", "model_version"),
        "holdout_r2": _report(state, "training", "r2"),
        "interval_coverage": _report(state, "training", "interval_coverage"),
        "training_phases": _report(state, "training", "phase_seconds") or {},
        "interval_coverage_asked": float(spec_value(spec_file, "model", "interval_coverage")),
        "max_concurrency": concurrency,
        "cores_used_for_prediction": _cores_used(concurrency),
        "stages": stages,
        "batches": _batches(run_dir / "events.jsonl"),
        "table_bytes": table_bytes(state, lake, spec_value(spec_file, "output", "table")),
        "run_dir": str(run_dir),
        "log": str(log),
    }


def table_bytes(state: dict[str, Any], lake: Path, table: str) -> dict[str, int]:
    """Each table's bytes: the intermediates as the run's cleanup measured them before removing
    them, the published results from the lake (for benchmarks/rates.py)."""
    sizes: dict[str, int] = dict(state["stages"].get("cleanup", {}).get("report", {}).get("table_bytes", {}))
    results = lake / "results" / table / f"run_id={state['run_id']}"
    if results.is_dir():
        sizes["results"] = sum(p.stat().st_size for p in results.rglob("*") if p.is_file())
    return sizes


def _cores_used(concurrency: int) -> int:
    """Tasks at once times threads per task (as Settings.thread_environment gives them),
    never more than the machine has."""
    per_task = int(Settings.from_environment().thread_environment(concurrency)["predict"]["OMP_NUM_THREADS"])
    return min(os.cpu_count() or 1, concurrency * per_task)


def _stage(name: str, record: dict[str, Any]) -> dict[str, Any]:
    seconds = float(record["seconds"])
    key = STAGE_ROWS.get(name)
    rows = record["report"].get(key) if key else None
    out: dict[str, Any] = {"seconds": seconds, "rows_key": key, "rows": rows}
    out["rows_per_second"] = round(rows / seconds, 1) if rows is not None and seconds > 0 else None
    return out


def stage_peaks(events: Path, timeline: list[tuple[float, int]]) -> dict[str, int]:
    """Peak RSS of the process tree while each stage ran, from the stage events' timestamps."""
    spans: dict[str, list[float]] = {}
    for event in map(json.loads, events.read_text().splitlines()):
        kind, stage = event.get("event"), event.get("stage")
        if kind == "stage_started":
            spans[stage] = [float(event["ts"]), float("inf")]
        elif kind in ("stage_succeeded", "stage_failed") and stage in spans:
            spans[stage][1] = float(event["ts"])
    return {
        stage: max((rss for ts, rss in timeline if start <= ts <= end), default=0)
        for stage, (start, end) in spans.items()
    }


def _batches(events: Path) -> dict[str, Any]:
    """Per-batch task times as the orchestrator saw them (spawn to exit, retries included)."""
    seconds = [
        float(e["seconds"])
        for e in map(json.loads, events.read_text().splitlines())
        if e.get("event") == "batch_succeeded" and e.get("stage") == "prediction"
    ]
    mean = sum(seconds) / len(seconds) if seconds else None
    return {"count": len(seconds), "seconds": seconds, "mean_seconds": round(mean, 3) if mean else None}
