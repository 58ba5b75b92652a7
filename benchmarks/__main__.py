"""`python -m benchmarks --rows 1000000,10000000`: the pipeline, the floor and the seed's
row-by-row scoring on the same generated data; a table, results.json, and optionally
docs/benchmarks.md. Targets are reported (PASS/MISS), never enforced."""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from benchmarks.generate import Dataset, ensure_dataset, remove_dataset, warm_page_cache
from benchmarks.machine import load_average, machine
from benchmarks.memory import run_measured
from benchmarks.overhead import measure_task_overhead
from benchmarks.pipeline_run import REPO, run_pipeline, write_spec
from benchmarks.rates import RATES_FILE, write_rates
from benchmarks.report import print_report, render_docs
from benchmarks.targets import evaluate
from entrypoints.settings import Settings

# Disk needed per source row: ~870 bytes of JSON, plus the pipeline's raw/staging Parquet
# and the floor's Parquet while they exist (measured at 1M rows; generous).
BYTES_PER_ROW = 2_000


def _ints(text: str) -> list[int]:
    return [int(x.replace("_", "")) for x in text.split(",") if x.strip()]


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--rows", type=_ints, default=[1_000_000], help="source row counts, comma-separated")
    p.add_argument("--out", type=Path, default=Path("/tmp/batchml-bench"), help="data, runs and results.json")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--keep-data", action="store_true", help="keep generated data and run folders afterwards")
    p.add_argument("--skip-seed", action="store_true", help="skip the row-by-row (seed) scoring")
    p.add_argument(
        "--skip-floor", action="store_true", help="skip the floor (also skips the ceiling and the task overhead)"
    )
    p.add_argument(
        "--concurrency",
        type=_ints,
        default=[1, 2],
        help="max_concurrency values to compare, at the largest row count ('' skips)",
    )
    p.add_argument("--rowwise-rows", type=int, default=3000, help="lines scored row by row")
    p.add_argument("--overhead-repeats", type=int, default=3)
    p.add_argument("--write-docs", action="store_true", help="render docs/benchmarks.md from the results")
    p.add_argument("--docs", type=Path, default=REPO / "docs" / "benchmarks.md")
    p.add_argument(
        "--write-rates",
        nargs="?",
        type=Path,
        const=RATES_FILE,
        metavar="FILE",
        help=f"write the cost model's rates (default {RATES_FILE.relative_to(REPO)}) from the results",
    )
    p.add_argument("--from-results", type=Path, metavar="JSON", help="measure nothing: report an earlier results.json")
    return p.parse_args(argv)


def _check_disk(out: Path, rows: list[int]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    need, free = max(rows) * BYTES_PER_ROW, shutil.disk_usage(out).free
    if need > free:
        raise SystemExit(f"{out}: {free / 1e9:.1f} GB free, the largest run needs about {need / 1e9:.1f} GB")


def _child(module: str, args: list[str], log: Path, env: dict[str, str] | None = None) -> tuple[dict[str, Any], Any]:
    """A benchmark module in its own process (so its memory is its own); its JSON report."""
    report = log.with_suffix(".json")
    measured = run_measured([sys.executable, "-m", module, *args, "--report", str(report)], log, env=env, cwd=REPO)
    if measured.returncode != 0:
        raise RuntimeError(f"{module} exited {measured.returncode}; see {log}")
    data: dict[str, Any] = json.loads(report.read_text())
    return data, measured


def _floor(spec: Path, work: Path, logs: Path, rows: int) -> dict[str, Any]:
    shutil.rmtree(work, ignore_errors=True)
    # The OpenMP settings the pipeline gives its training task (all cores, brief spinning):
    # with long-spinning OpenMP threads a fit on a loaded machine is several times slower.
    env = Settings.from_environment().thread_environment(1)["train"]
    args = ["--spec", str(spec), "--work", str(work)]
    report, measured = _child("benchmarks.floor", args, logs / f"floor-{rows}.log", env)
    return {**report, "wall_seconds": round(measured.wall_seconds, 3), "peak_rss_bytes": measured.peak_rss_bytes}


def _ceiling(spec: Path, work: Path, logs: Path, rows: int) -> dict[str, Any]:
    report, measured = _child(
        "benchmarks.ceiling", ["--spec", str(spec), "--work", str(work)], logs / f"ceiling-{rows}.log"
    )
    shutil.rmtree(work, ignore_errors=True)
    return {**report, "peak_rss_bytes": measured.peak_rss_bytes}


def ceiling_seconds(floor: dict[str, Any] | None, ceiling: dict[str, Any] | None) -> float | None:
    """The floor's wall time with its staging and dedupe replaced by the ceiling's staging:
    the fastest this work can run here (benchmarks/ceiling.py)."""
    if not floor or not ceiling or not ceiling.get("measured"):
        return None
    phases: dict[str, float] = floor["phases"]
    return float(floor["wall_seconds"]) - phases["staging"] - phases["dedupe"] + float(ceiling["staging_seconds"])


def _ingest(spec: Path, work: Path, logs: Path, rows: int) -> dict[str, Any]:
    report, _ = _child(
        "benchmarks.ingest_rate", ["--spec", str(spec), "--work", str(work)], logs / f"ingest-{rows}.log"
    )
    shutil.rmtree(work, ignore_errors=True)
    return report


def _rowwise(spec: Path, model: Path, check: Path | None, logs: Path, rows: int, sample: int) -> dict[str, Any]:
    args = ["--spec", str(spec), "--model", str(model), "--rows", str(sample)]
    args += ["--check", str(check)] if check else []
    # One core, as the seed's per-record container effectively used.
    env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    report, _ = _child("benchmarks.rowwise", args, logs / f"rowwise-{rows}.log", env)
    return report


def _summary(run: dict[str, Any]) -> dict[str, Any]:
    p, f, r = run["pipeline"], run.get("floor"), run.get("rowwise")
    ceiling = ceiling_seconds(f, run.get("ceiling"))
    lines = p["source_lines"] or run["dataset"]["rows"]
    pred = p["stages"].get("prediction", {}).get("seconds")
    done = p["status"] == "SUCCEEDED"
    scoring = p["predicted_rows"] / pred / p["cores_used_for_prediction"] if pred and p["predicted_rows"] else None
    rowwise = r["rows_per_second"] if r else None
    return {
        "pipeline_seconds": p["wall_seconds"],
        "floor_seconds": f["wall_seconds"] if f else None,
        "pipeline_status": p["status"],
        "pipeline_over_floor": round(p["wall_seconds"] / f["wall_seconds"], 3) if f and done else None,
        "source_rows_per_second": p["source_rows_per_second"],
        "ceiling_seconds": round(ceiling, 3) if ceiling else None,
        "ceiling_rows_per_second": round(lines / ceiling, 1) if ceiling else None,
        "scoring_rows_per_second_per_core": round(scoring, 1) if scoring else None,
        "rowwise_rows_per_second_per_core": rowwise,
        "scoring_over_rowwise": round(scoring / rowwise, 1) if scoring and rowwise else None,
        "peak_memory_bytes": p["peak_rss_bytes"],
        "floor_peak_memory_bytes": f["peak_rss_bytes"] if f else None,
        "training_over_floor": _training_over_floor(p, f),
    }


def _training_over_floor(pipeline: dict[str, Any], floor: dict[str, Any] | None) -> float | None:
    """The training task's sample query and fits, timed inside the task (the card's
    phase_seconds), against the same query and `fit` alone in the floor's plain process: what
    the run does to the fits (threads, OpenMP waiting, contention), not the task's other work
    (its start, the report's diagnostics, the model file), which the stage's own seconds show.
    A run from before the phases were recorded is compared stage to fits."""
    phases = pipeline.get("training_phases") or {}
    in_run = phases["sample"] + phases["fit"] if phases else pipeline["stages"].get("training", {}).get("seconds")
    if not in_run or not floor:
        return None
    alone = floor["phases"].get("training_sample", 0.0) + floor["phases"].get("training", 0.0)
    return round(in_run / alone, 3) if alone else None


def _concurrency(args: argparse.Namespace, dataset: Dataset, main: dict[str, Any], console: Console) -> dict[str, Any]:
    out: dict[str, Any] = {"rows": dataset.rows, "runs": {}}
    for c in args.concurrency:
        if c == main["max_concurrency"] and main["status"] == "SUCCEEDED":
            run = main
        else:
            console.print(f"  pipeline at max_concurrency {c}")
            lake = args.out / "lake" / f"rows={dataset.rows}-c={c}"
            shutil.rmtree(lake, ignore_errors=True)
            spec = write_spec(dataset.folder, lake, args.out / "specs" / f"rows={dataset.rows}-c={c}.toml", c)
            run = run_pipeline(spec, lake, args.out / "logs" / f"pipeline-{dataset.rows}-c={c}.log")
            if not args.keep_data:
                shutil.rmtree(lake, ignore_errors=True)
        if "prediction" not in run["stages"] or run["stages"]["prediction"]["rows"] is None:
            continue  # the run failed before or in the prediction stage: nothing to compare
        out["runs"][str(c)] = {
            "prediction_seconds": run["stages"]["prediction"]["seconds"],
            "wall_seconds": run["wall_seconds"],
            "batches": run["batches"]["count"],
            "mean_task_seconds": run["batches"]["mean_seconds"],
        }
    levels = sorted(int(c) for c in out["runs"])
    if len(levels) >= 2:
        slow, fast = out["runs"][str(levels[0])], out["runs"][str(levels[-1])]
        out["speedup"] = round(slow["prediction_seconds"] / fast["prediction_seconds"], 3)
        out["compared"] = [levels[0], levels[-1]]
    return out


def bench_rows(args: argparse.Namespace, rows: int, results: dict[str, Any], console: Console) -> None:
    console.print(f"[bold]{rows:,} rows[/]: data")
    dataset = ensure_dataset(args.out, rows, args.seed)
    warmed = warm_page_cache(dataset.folder)
    files = len([p for p in dataset.folder.iterdir() if p.is_file()])
    run: dict[str, Any] = {
        "dataset": {
            "rows": rows,
            "seed": args.seed,
            "bytes": dataset.bytes,
            "files": files,
            "generated_seconds": dataset.generated_seconds,
            "page_cache_warm_seconds": round(warmed, 2),
            "folder": str(dataset.folder),
        },
        "load_average_before": load_average(),
    }
    logs, lake = args.out / "logs", args.out / "lake" / f"rows={rows}"
    shutil.rmtree(lake, ignore_errors=True)
    spec = write_spec(dataset.folder, lake, args.out / "specs" / f"rows={rows}.toml")
    console.print("  pipeline (batchml run)")
    run["pipeline"] = pipeline = run_pipeline(spec, lake, logs / f"pipeline-{rows}.log")
    if pipeline["status"] != "SUCCEEDED":
        console.print(f"  [red]the pipeline run FAILED[/]: {pipeline['failure']}")
    floor_work = args.out / "floor" / f"rows={rows}"
    if not args.skip_floor:
        # Read again before each: this machine may page out file cache left idle for about a
        # minute (benchmarks/findings.md, "noise"), and the run before took longer than that.
        console.print("  floor")
        warmed += warm_page_cache(dataset.folder)
        run["floor"] = _floor(spec, floor_work, logs, rows)
        console.print("  ceiling")
        warmed += warm_page_cache(dataset.folder)
        run["ceiling"] = _ceiling(spec, args.out / "ceiling" / f"rows={rows}", logs, rows)
        run["dataset"]["page_cache_warm_seconds"] = round(warmed, 2)
    # The pipeline's model; the floor's (the same training) if the run failed before it.
    model = Path(pipeline["run_dir"]) / "model" / "model.joblib"
    if not model.exists() and "floor" in run:
        model = Path(run["floor"]["model"])
    console.print("  ingest on one core")
    run["ingest"] = _ingest(spec, args.out / "ingest" / f"rows={rows}", logs, rows)
    if not args.skip_seed:
        console.print("  row-by-row (seed)")
        check = Path(run["floor"]["results"]) if "floor" in run else None
        run["rowwise"] = _rowwise(spec, model, check, logs, rows, args.rowwise_rows)
    if "floor" in run and model.exists():
        console.print("  task overhead")
        run["task_overhead"] = measure_task_overhead(spec, model, Path(run["floor"]["features"]), args.overhead_repeats)
    # At the largest row count: at 1M the stage is two waves of two tasks, and one slow task
    # moved the speed-up between 1.63x and 1.96x from run to run of the same code.
    if args.concurrency and rows == max(args.rows):
        results["concurrency"] = _concurrency(args, dataset, pipeline, console)
    run["load_average_after"] = load_average()
    run["summary"] = _summary(run)
    results["runs"][str(rows)] = run
    if not args.keep_data:
        shutil.rmtree(lake, ignore_errors=True)
        shutil.rmtree(floor_work, ignore_errors=True)
        remove_dataset(dataset)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    # Wide enough for the tables when the output is a file or a pipe (rich falls back to 80).
    console = Console(width=max(160, shutil.get_terminal_size().columns))
    if args.from_results:
        earlier: dict[str, Any] = json.loads(args.from_results.read_text())
        earlier["targets"] = evaluate(earlier)
        _report(args, earlier, console)
        return 0
    _check_disk(args.out, args.rows)
    command = "python -m benchmarks " + shlex.join(sys.argv[1:] if argv is None else argv)
    results: dict[str, Any] = {
        "command": command,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "load_average": {"start": load_average()},
        "runs": {},
        "concurrency": {},
    }
    began = time.perf_counter()
    out_file = args.out / "results.json"
    for rows in sorted(set(args.rows)):
        bench_rows(args, rows, results, console)
        out_file.write_text(json.dumps(results, indent=1))  # partial results survive a later failure
    results["load_average"]["end"] = load_average()
    results["seconds"] = round(time.perf_counter() - began, 1)
    results["targets"] = evaluate(results)
    out_file.write_text(json.dumps(results, indent=1))
    console.print(f"results: {out_file}")
    _report(args, results, console)
    return 0


def _report(args: argparse.Namespace, results: dict[str, Any], console: Console) -> None:
    print_report(console, results)
    if args.write_rates:
        console.print(f"rates: {write_rates(results, args.write_rates)}")
    if args.write_docs:
        args.docs.parent.mkdir(parents=True, exist_ok=True)
        args.docs.write_text(render_docs(results))
        console.print(f"docs: {args.docs}")


if __name__ == "__main__":
    sys.exit(main())
