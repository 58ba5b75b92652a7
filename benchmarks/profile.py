"""Where the time goes: the pipeline under py-spy, summarised per stage.

`python -m benchmarks.profile --rows 1000000 [--out DIR] [--py-spy PATH]` runs `batchml run`
under `py-spy record --subprocesses --idle` (wall-clock samples of every Python thread of
the CLI and of its task processes), then attributes each sample to a stage: function stages
run on threads named `stage-<name>`, training and prediction in `entrypoints.task_main`
processes. Per stage it lists the heaviest (project function -> library call) pairs.
DuckDB's own worker threads are native and invisible here: their time shows up as the
Python frame that waits for the query.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from benchmarks.generate import ensure_dataset
from benchmarks.memory import run_measured
from benchmarks.pipeline_run import REPO, write_spec

_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^():]*)(?::\d+)?\)$")
_PROJECT = re.compile(r"(^|/)(domain|adapters|entrypoints|benchmarks)/")
# Function stages run on short-lived threads whose names py-spy may report stale, so a
# sample is attributed by the stage service on its stack instead.
_STAGE_FUNCTIONS = {
    "run_pre_cleanup": "pre_cleanup",
    "run_staging": "staging",
    "run_features": "features",
    "run_batch_planning": "batch_planning",
    "run_results_table": "results_table",
    "run_aggregation": "aggregation",
    "run_publish": "publish",
    "run_cleanup": "cleanup",
    # Task processes forked from a warm server carry the server's command line, not the task's.
    "run_training": "training (task process)",
    "run_prediction_batch": "prediction (task processes)",
}


def _parts(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame)
    return (match["func"], match["file"]) if match else (frame, "")


def _short(frame: str, line: bool = False) -> str:
    func, file = _parts(frame)
    if not file:
        return func
    where = frame.rsplit("(", 1)[-1].rstrip(")") if line else file
    return f"{func} ({'/'.join(where.split('/')[-2:])})"


def _stage(process: str, frames: list[str]) -> str | None:
    if "entrypoints.task_main" in process:
        return "training (task process)" if " train " in process else "prediction (task processes)"
    for frame in frames:
        stage = _STAGE_FUNCTIONS.get(_parts(frame)[0])
        if stage:
            return stage
    return None  # the orchestrator's main thread, heartbeats and batch threads only wait


def summarise(raw: Path, rate: int, top: int = 8) -> dict[str, Any]:
    """Samples per stage, and per stage the heaviest (deepest project frame, leaf frame)."""
    samples: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit() or not stack.startswith("process "):
            continue
        parts = stack.split(";")
        processes = [p for p in parts if p.startswith("process ")]
        frames = [p for p in parts if not p.startswith(("process ", "thread "))]
        stage = _stage(processes[-1], frames)
        if stage is None or not frames:
            continue
        if any("_find_and_load" in f for f in frames):
            key = ("(imports)", "importlib")
        else:
            own = [f for f in frames if _PROJECT.search(_parts(f)[1])]
            # The stage service's own line tells which of its queries is running.
            service = [f for f in own if "/services/" in f or "benchmarks/" in f]
            path = [_short(service[-1], line=True)] if service else []
            path += [_short(own[-1])] if own and own[-1] not in service else []
            key = (" > ".join(path) or "-", _short(frames[-1]))
        samples[stage][key] += int(count)
    out: dict[str, Any] = {}
    for stage, counter in samples.items():
        total = sum(counter.values())
        out[stage] = {
            "seconds": round(total / rate, 2),
            "top": [
                {"project": p, "leaf": leaf, "seconds": round(n / rate, 2), "share": round(n / total, 3)}
                for (p, leaf), n in counter.most_common(top)
            ],
        }
    return out


def _print(summary: dict[str, Any]) -> None:
    for stage, data in summary["stages"].items():
        print(f"{stage}: {data['seconds']} s sampled")
        for item in data["top"]:
            print(f"   {item['share']:6.1%}  {item['seconds']:7.2f} s  {item['project']}  ->  {item['leaf']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("/tmp/batchml-bench"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rate", type=int, default=20, help="samples per second per thread")
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    parser.add_argument("--summarise", type=Path, metavar="RAW", help="only summarise an earlier raw profile")
    args = parser.parse_args(argv)
    if args.summarise:
        _print({"stages": summarise(args.summarise, args.rate)})
        return 0
    if shutil.which(args.py_spy) is None:
        # Not a project dependency: only this tool uses it, and it needs ptrace rights.
        parser.error(f"py-spy not found ({args.py_spy}): `pip install py-spy`, or give its path with --py-spy")
    dataset = ensure_dataset(args.out, args.rows, args.seed)
    lake = args.out / "lake" / f"profile-rows={args.rows}"
    shutil.rmtree(lake, ignore_errors=True)
    spec = write_spec(dataset.folder, lake, args.out / "specs" / f"profile-rows={args.rows}.toml")
    raw = args.out / f"profile-{args.rows}.txt"
    command = [args.py_spy, "record", "--subprocesses", "--idle", "--threads", "--format", "raw"]
    command += ["-r", str(args.rate), "-o", str(raw), "--", sys.executable, "-m", "entrypoints.cli", "run", str(spec)]
    measured = run_measured(command, args.out / "logs" / f"profile-{args.rows}.log", cwd=REPO)
    summary = {"rows": args.rows, "wall_seconds": round(measured.wall_seconds, 1), "stages": summarise(raw, args.rate)}
    target = args.out / f"profile-{args.rows}.json"
    target.write_text(json.dumps(summary, indent=1))
    shutil.rmtree(lake, ignore_errors=True)
    _print(summary)
    print(f"profile: {raw} and {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
