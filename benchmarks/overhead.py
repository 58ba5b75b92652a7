"""Overhead of one prediction task: what a task costs beyond the predicting itself.

A tiny batch (TASK_ROWS rows) is planted in a run folder of its own beside a real run of
the pipeline, with that run's model, and run as a prediction task a few times through the
task runner the pipeline itself is configured with (the composition root's choice: a warm
fork server by default). Its time, spawn to exit, minus the in-process time to predict the
same rows, is the overhead: process start, spec and container, manifest, model load,
reading the batch, writing the output and the marker. The first task also pays for
starting the runner (for the fork server: one interpreter importing the task code), so
it is reported apart. A fresh interpreter per task (`batchml-task`, as a container
would start) is measured too, for reference.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from domain.layout import RunLayout
from domain.manifest import BatchEntry, Manifest
from domain.ml.model import TrainedModel
from domain.ports.task_runner import TaskSpec
from entrypoints import containers
from entrypoints.settings import Settings
from entrypoints.spec_loader import load_spec

TASK_ROWS = 1_000
RUN_ID = "bench-task-overhead"


def _plant(lake: Path, table_name: str, model_file: Path, features: Path, label: str) -> pa.Table:
    layout = RunLayout(RUN_ID, table_name)
    shutil.rmtree(lake / layout.run_prefix, ignore_errors=True)
    scoring = pq.ParquetFile(features).iter_batches(batch_size=20 * TASK_ROWS)
    rows = pa.Table.from_batches([next(scoring)])
    rows = rows.filter(pc.is_null(rows.column(label))).slice(0, TASK_ROWS)
    rows = rows.append_column("batch", pa.array(["00000"] * rows.num_rows, pa.string()))
    batch_dir = lake / layout.scoring_batch_prefix(0)
    batch_dir.mkdir(parents=True)
    pq.write_table(rows, batch_dir / "part-0.parquet")
    (lake / layout.model_key).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_file, lake / layout.model_key)
    manifest = Manifest(RUN_ID, TASK_ROWS, (BatchEntry(0, rows.num_rows),))
    (lake / layout.manifest_key).parent.mkdir(parents=True, exist_ok=True)
    (lake / layout.manifest_key).write_bytes(manifest.to_bytes())
    return rows


def _forget_output(spec_file: Path) -> None:
    """Remove the planted batch's output: a batch whose marker and output exist is skipped (a
    resumed run's task exits at once), so every repeat would otherwise time a skip."""
    spec = load_spec(spec_file)
    output = Path(spec.output.root) / RunLayout(RUN_ID, spec.output.table).prediction_key(0)
    output.unlink(missing_ok=True)


def _fresh_interpreter(spec_file: Path, settings: Settings, concurrency: int, repeats: int) -> float:
    env = {**os.environ, **settings.task_environment(), **settings.thread_environment(concurrency)["predict"]}
    task = [sys.executable, "-m", "entrypoints.task_main", "--spec", str(spec_file), "predict"]
    task += ["--run-id", RUN_ID, "--batch", "0"]
    walls = []
    for _ in range(repeats):
        _forget_output(spec_file)
        started = time.perf_counter()
        subprocess.run(task, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        walls.append(time.perf_counter() - started)
    return statistics.median(walls)


def measure_task_overhead(spec_file: Path, model_file: Path, features: Path, repeats: int = 3) -> dict[str, Any]:
    spec = load_spec(spec_file)
    lake = Path(spec.output.root)
    rows = _plant(lake, spec.output.table, model_file, features, spec.model.label)
    settings = Settings.from_environment()
    runner = containers.build_container(spec, settings, spec_file).task_runner()
    walls = []
    for attempt in range(1, repeats + 2):  # one more: the first one starts the runner
        _forget_output(spec_file)
        outcome = runner.run(TaskSpec("predict", RUN_ID, 0, attempt, {"BATCHML_TASK_ATTEMPT": "1"}), 600)
        if not outcome.succeeded:
            raise RuntimeError(f"the planted prediction task failed: {outcome.reason}")
        walls.append(outcome.seconds)
    fresh = _fresh_interpreter(spec_file, settings, spec.batches.max_concurrency, repeats)
    model = TrainedModel.from_bytes(model_file.read_bytes())
    started = time.perf_counter()
    model.predict(rows)
    predict = time.perf_counter() - started
    warm = statistics.median(walls[1:])
    shutil.rmtree(lake / RunLayout(RUN_ID, spec.output.table).run_prefix, ignore_errors=True)
    return {
        "task_runner": settings.task_runner,
        "task_rows": rows.num_rows,
        "task_seconds": [round(w, 3) for w in walls],
        "first_task_seconds": round(walls[0], 3),
        "task_median_seconds": round(warm, 3),
        "predict_in_process_seconds": round(predict, 3),
        "overhead_seconds": round(warm - predict, 3),
        "fresh_interpreter_task_seconds": round(fresh, 3),
        "fresh_interpreter_overhead_seconds": round(fresh - predict, 3),
        "model_bytes": model_file.stat().st_size,
    }
