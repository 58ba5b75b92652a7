"""The floor: the pipeline's work written by hand, as one plain process.

Same input lines, same valid-record rule (valid JSON with an id, first occurrence wins),
the same staging and features SQL (transpiled by the project's own dialect bridge, and the
staging SELECT fed by DuckDB's typed NDJSON reader, which checks each line in the same parse:
adapters/local/typed_lines.py), the
same training sample and estimator (`domain.ml.training.fit`), the same `TrainedModel.predict`
in chunks of `[batches] rows_per_batch`, and the same final columns written to Parquet.
The model's diagnostics for the run report (`domain.ml.diagnostics.diagnose`: baselines,
permutation importance, drift against a sample of the rows to score) are work the pipeline
does for its users, so the floor does them too. Left out on purpose: orchestration, task
processes, retries, markers, the rejects table, every verification query and the rendering of
the report's HTML. What remains is the work itself.

Run as `python -m benchmarks.floor --spec SPEC --work DIR --report FILE.json`.
"""

from __future__ import annotations

import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from adapters.local.dialect import athena_to_duckdb
from adapters.local.duckdb_engine import PARQUET_OPTIONS
from adapters.local.line_items import CSV_AS_LINES, quote
from adapters.local.seeded_sample import seeded_sample
from adapters.local.typed_lines import TypedSelect, numbered_reader_sql, typed_select
from adapters.shared.source_files import compression_of, source_files
from benchmarks.child_cli import spec_work_main
from domain.ml.diagnostics import diagnose
from domain.ml.model import TrainedModel
from domain.ml.training import fit
from domain.services.training import DRIFT_SAMPLE_ROWS
from entrypoints.spec_loader import load_spec


def numbered_lines_sql(files: list[Path]) -> str:
    """(source_file, line_number, line): one scan per file, so line numbers restart at 1 per
    file as in the pipeline. row_number() OVER () with no ORDER BY is DuckDB's
    order-preserving streaming window: the n-th line of the file gets n."""
    return " UNION ALL ".join(
        f"SELECT {quote(str(f))} AS source_file, row_number() OVER () AS line_number, line "
        f"FROM read_csv({quote(str(f))}, {CSV_AS_LINES})"
        for f in files
    )


def records_sql(files: list[Path], id_field: str) -> str:
    """Lines that are JSON with an id: what the staging SELECT may see, before the dedupe."""
    return (
        f"SELECT source_file, line_number, line FROM ({numbered_lines_sql(files)}) "
        f"WHERE json_valid(line) AND line ->> {quote('$.' + id_field)} IS NOT NULL"
    )


def typed_records_sql(path: Path, select: TypedSelect, id_field: str) -> str:
    """The records of one file as the typed reader reads them (each line's JSON as the SELECT's
    struct, NULL for text that is not JSON): those with an id. Its lines are numbered as the
    reader gives them, which skips blank lines (the benchmark's data has none)."""
    numbered = numbered_reader_sql(str(path), str(path), select.struct_type)
    has_id = f"struct_extract(line, {quote(id_field)}) IS NOT NULL"
    return f"SELECT source_file, line_number, line FROM ({numbered}) WHERE {has_id}"


def later_duplicates_sql(staged: Path, id_col: str) -> str:
    """(source_file, line_number) of every record whose id appeared earlier: first one wins.

    The staging SELECT returns exactly one row per record, with the record's id (the
    pipeline verifies both), so deduplicating its output equals deduplicating its input,
    and the window only ever sees the few repeated ids, never whole lines.
    """
    table = f"read_parquet({quote(str(staged / '*.parquet'))})"
    return f"""
SELECT source_file, line_number FROM (
  SELECT source_file, line_number,
         row_number() OVER (PARTITION BY {id_col} ORDER BY source_file, line_number) AS k
  FROM {table}
  WHERE {id_col} IN (SELECT {id_col} FROM {table} GROUP BY {id_col} HAVING count(*) > 1)
) WHERE k > 1"""


def _timed(phases: dict[str, float], name: str, started: float) -> float:
    now = time.perf_counter()
    phases[name] = round(now - started, 3)
    return now


def run_floor(spec_file: Path, work: Path) -> dict[str, Any]:
    spec = load_spec(spec_file)
    id_col, label = spec.source.id_field, spec.model.label
    files = source_files(spec.source.path)
    work.mkdir(parents=True, exist_ok=True)
    staged, features = work / "staged", work / "features.parquet"
    predictions, final = work / "predictions.parquet", work / "results.parquet"
    phases: dict[str, float] = {}
    counts: dict[str, int] = {}
    began = t = time.perf_counter()
    con = duckdb.connect()
    # One pass over the JSON: every record is staged, later duplicates are dropped after.
    # One COPY per source file, as many files at once as there are cores, each on one thread:
    # numbering lines (row_number() OVER () in file order) keeps a query to one thread, and
    # memory is bounded by one file per core (one query over all files held 1.7 GB at 1M rows).
    # Its lines passed json_valid in records_sql, as the pipeline's passed its line index.
    staging_sql = athena_to_duckdb(
        spec.sql.staging_sql.replace("{{ source }}", "source"), sql_name="staging", valid_json=("line",)
    )
    # The id must be one of the struct's keys for the reader to find the records; else as text.
    typed = typed_select(staging_sql)
    typed = typed if typed is not None and spec.source.id_field in typed.keys else None
    staged.mkdir()

    def stage_file(job: tuple[int, Path]) -> None:
        i, path = job
        with duckdb.connect(config={"threads": 1, "preserve_insertion_order": True}) as file_con:
            if typed is not None and compression_of(path.name) is None:
                file_con.execute(f"CREATE TEMP VIEW source AS {typed_records_sql(path, typed, spec.source.id_field)}")
                _copy(file_con, typed.sql, staged / f"part-{i:05d}.parquet")
                return
            file_con.execute(f"CREATE TEMP VIEW source AS {records_sql([path], spec.source.id_field)}")
            _copy(file_con, staging_sql, staged / f"part-{i:05d}.parquet")

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(stage_file, enumerate(files)))
    t = _timed(phases, "staging", t)
    con.execute(f"CREATE TEMP TABLE later_duplicates AS {later_duplicates_sql(staged, id_col)}")
    con.execute(
        f"CREATE TEMP VIEW staging AS SELECT * FROM read_parquet({quote(str(staged / '*.parquet'))}) "
        "ANTI JOIN later_duplicates USING (source_file, line_number)"
    )
    t = _timed(phases, "dedupe", t)
    features_sql = athena_to_duckdb(spec.sql.features_sql.replace("{{ staging }}", "staging"), sql_name="features")
    counts["feature_rows"] = _copy(con, features_sql, features)
    t = _timed(phases, "features", t)
    con.execute(f"CREATE TEMP VIEW features AS SELECT * FROM read_parquet({quote(str(features))})")

    def fetch(query: str) -> pa.Table:
        return con.sql(query).to_arrow_table()

    # The pipeline's sample: a seeded hash of the id orders the labelled rows (DuckDBSqlEngine.sample).
    seed = spec.model.seed
    sample = seeded_sample(
        fetch,
        f"SELECT * FROM features WHERE {label} IS NOT NULL",
        rows=spec.model.training_sample_cap,
        key=id_col,
        seed=seed,
    )
    t = _timed(phases, "training_sample", t)
    model, metrics = fit(sample, id_col, spec.model)
    blob = model.to_bytes()
    (work / "model.joblib").write_bytes(blob)
    counts["training_rows"] = sample.num_rows
    t = _timed(phases, "training", t)
    scoring = f"SELECT * FROM features WHERE {label} IS NULL"
    scoring_sample = seeded_sample(fetch, scoring, rows=DRIFT_SAMPLE_ROWS, key=id_col, seed=seed)
    diagnose(model, sample, label, spec.model, scoring_sample if scoring_sample.num_rows else None)
    t = _timed(phases, "diagnostics", t)
    counts["predicted_rows"] = _predict(
        con, model, f"SELECT * FROM features WHERE {label} IS NULL", id_col, predictions, spec.batches.rows_per_batch
    )
    t = _timed(phases, "prediction", t)
    # Joins as written: staging probes, the narrow lookup table is built. Left to the
    # optimizer, the deduplicated staging view was built as a hash table instead (3.8 GB and
    # 2x slower at 3M rows, 11 GB at 10M; measured).
    con.execute("SET disabled_optimizers = 'join_order,build_side_probe_side'")
    # One result row per staged record: the result count is the staged count.
    counts["staged_rows"] = counts["result_rows"] = _copy(con, _final_sql(id_col, label, predictions), final)
    _timed(phases, "final_table", t)
    wall = time.perf_counter() - began
    return {
        "seconds": round(wall, 3),
        "phases": phases,
        "counts": counts,
        "source_files": len(files),
        "model_sha256_12": _sha12(blob),
        "holdout_r2": round(metrics.r2, 6),
        "results": str(final),
        "features": str(features),
        "model": str(work / "model.joblib"),
    }


def _sha12(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()[:12]


def _copy(con: duckdb.DuckDBPyConnection, select: str, target: Path) -> int:
    row = con.execute(f"COPY ({select}) TO {quote(str(target))} ({PARQUET_OPTIONS})").fetchone()
    return int(row[0]) if row else 0


def _predict(
    con: duckdb.DuckDBPyConnection, model: TrainedModel, select: str, id_col: str, target: Path, chunk_rows: int
) -> int:
    """Stream the scoring rows in chunks of a batch's size; predictions to one Parquet file."""
    reader = con.sql(select).to_arrow_reader(chunk_rows)
    rows = 0
    writer: pq.ParquetWriter | None = None
    try:
        for batch in reader:
            table = pa.Table.from_batches([batch])
            predicted = model.predict(table)
            out = pa.table({id_col: table.column(id_col), **{n: predicted.column(n) for n in predicted.schema.names}})
            if writer is None:
                writer = pq.ParquetWriter(target, out.schema, compression="snappy")
            writer.write_table(out)
            rows += out.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows


def _final_sql(id_col: str, label: str, predictions: Path) -> str:
    """Every staged id once with its value: its known label (from the features, as in the
    pipeline) or its prediction, looked up in one table of both (they are disjoint), as the
    pipeline does. The values only, as the pipeline writes them: its results table shows them
    joined to the staging table, which is not copied. No DEFAULT branch is needed for this
    data: every staged row has features."""
    return f"""
WITH known_values AS (
  SELECT {id_col}, CAST({label} AS double) AS value, CAST({label} AS double) AS value_lower,
         CAST({label} AS double) AS value_upper, 1.0 AS value_confidence, 'EXISTING' AS value_source
  FROM features WHERE {label} IS NOT NULL
  UNION ALL
  SELECT {id_col}, value, value_lower, value_upper, value_confidence, value_source
  FROM read_parquet({quote(str(predictions))})
)
SELECT s.{id_col}, v.value, v.value_lower, v.value_upper, v.value_confidence,
       coalesce(v.value_source, 'DEFAULT') AS value_source
FROM (SELECT {id_col} FROM staging) s LEFT JOIN known_values v ON s.{id_col} = v.{id_col}"""


def main(argv: list[str] | None = None) -> int:
    return spec_work_main(
        argv,
        prog="python -m benchmarks.floor",
        description=__doc__,
        work_help="folder for the floor's Parquet files and model",
        run=run_floor,
    )


if __name__ == "__main__":
    raise SystemExit(main())
