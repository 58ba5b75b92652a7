"""What a model costs to fit and to score, measured apart from the pipeline.

`python -m benchmarks.model_costs --features FEATURES --spec SPEC [--rows 250000] [--repeat 5]`
reads a features table (the floor's `features.parquet`, or a run's `features/` kept with
`keep_intermediates`), takes the pipeline's training sample (the same seeded hash order and
cap as `SqlEngine.sample`), fits with `domain.ml.training.fit` as the training task does, then
scores `--rows` unlabelled rows the way a prediction task does: read the batch from Parquet,
`TrainedModel.predict`, write the output to Parquet, on one thread. Each step is repeated
and the best wall time and CPU time are kept: on a machine shared with other work the best
of several runs is the least disturbed one, and CPU time is not inflated by waiting for a core.

It prints one JSON object: holdout metrics, trees walked per scored row, fit seconds and
scoring microseconds per row (wall and CPU) for each part.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from threadpoolctl import threadpool_limits

from domain.ml.model import TrainedModel
from domain.ml.training import fit
from entrypoints.spec_loader import load_spec

T = TypeVar("T")


def best_of(repeat: int, step: Callable[[], T]) -> tuple[T, float, float]:
    """(the last result, best wall seconds, best CPU seconds) over `repeat` >= 1 runs of `step`."""
    walls, cpus, results = [], [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        results.append(step())
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return results[-1], min(walls), min(cpus)


def trees(model: Any) -> int:
    """Trees one prediction walks: LightGBM's boosters and scikit-learn's HGB; 0 for linear."""
    booster = getattr(model, "booster_", None)
    if booster is not None:
        return int(booster.num_trees())
    return int(getattr(model, "n_iter_", 0))


def _scan(features: Path) -> str:
    path = features / "**" / "*.parquet" if features.is_dir() else features
    return f"read_parquet('{str(path).replace(chr(39), chr(39) * 2)}')"


def measure(features: Path, spec_file: Path, rows: int, repeat: int) -> dict[str, Any]:
    spec = load_spec(spec_file)
    id_col, label, model_spec = spec.source.id_field, spec.model.label, spec.model
    with duckdb.connect() as con:
        sample = con.sql(
            f"SELECT * FROM {_scan(features)} WHERE {label} IS NOT NULL "
            f"ORDER BY hash(CAST({id_col} AS VARCHAR) || '{model_spec.seed}'), {id_col} "
            f"LIMIT {int(model_spec.training_sample_cap)}"
        ).to_arrow_table()
        batch = con.sql(f"SELECT * FROM {_scan(features)} WHERE {label} IS NULL LIMIT {int(rows)}").to_arrow_table()
    (model, metrics), fit_wall, fit_cpu = best_of(max(1, repeat // 2), lambda: fit(sample, id_col, model_spec))
    blob = model.to_bytes()
    sink = io.BytesIO()
    pq.write_table(batch, sink, compression="snappy")
    scoring_file = sink.getvalue()
    n = batch.num_rows
    per_row: dict[str, dict[str, float]] = {}
    with threadpool_limits(1):  # as a prediction task runs (OMP_NUM_THREADS=1)
        steps: dict[str, Callable[[], Any]] = {
            "load_model": lambda: TrainedModel.from_bytes(blob),
            "read_batch": lambda: pq.read_table(io.BytesIO(scoring_file)),
            "encode": lambda: model.encoder.matrix(batch),
        }
        x = model.encoder.matrix(batch)
        value = model.point.predict(x)
        steps["point_model"] = lambda: model.point.predict(x)
        steps["interval_model"] = lambda: model.interval(x, value)
        steps["predict_all"] = lambda: model.predict(batch)
        out = model.predict(batch)
        steps["write_output"] = lambda: pq.write_table(
            pa.table({id_col: batch.column(id_col), **{c: out.column(c) for c in out.schema.names}}),
            io.BytesIO(),
            compression="snappy",
        )
        for name, step in steps.items():
            _, wall, cpu = best_of(repeat, step)
            per_row[name] = {"wall_us": round(wall / n * 1e6, 3), "cpu_us": round(cpu / n * 1e6, 3)}
    task_parts = ("load_model", "read_batch", "predict_all", "write_output")
    task_cpu = sum(per_row[p]["cpu_us"] for p in task_parts)
    return {
        "spec": str(spec_file),
        "estimator": model_spec.estimator,
        "params": dict(model_spec.params),
        "training_rows": sample.num_rows,
        "metrics": metrics.as_dict(),
        "trees_per_scored_row": {"point": trees(model.point), "interval": _interval_trees(model)},
        "fit_seconds": {"wall": round(fit_wall, 3), "cpu": round(fit_cpu, 3)},
        "scored_rows": n,
        "scoring_us_per_row": per_row,
        "task_cpu_us_per_row": round(task_cpu, 3),
        "task_rows_per_cpu_second": round(1e6 / task_cpu) if task_cpu else None,
    }


def _interval_trees(model: TrainedModel) -> int:
    parts = [getattr(model, name, None) for name in ("lower", "upper")]  # models of before issue 17
    spread = getattr(model, "spread", None)
    if spread is not None:
        parts = [spread.scale_model]
    return sum(trees(part) for part in parts if part is not None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.model_costs", description=__doc__)
    parser.add_argument("--features", type=Path, required=True, help="a features Parquet file or folder")
    parser.add_argument("--spec", type=Path, action="append", required=True, help="repeat to compare specs")
    parser.add_argument("--rows", type=int, default=250_000, help="unlabelled rows to score (a batch)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    results = [measure(args.features, spec, args.rows, args.repeat) for spec in args.spec]
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
