"""Aggregation: every staged id exactly once, with its value and where the value came from.

EXISTING: the record had a label, which is kept. ML_PREDICTION: scored by the model.
DEFAULT: no prediction was possible (no features row, or no feature values at all).

The table written here is narrow: the id and the value columns, not a second copy of every
staged record (that copy was 18 s of a 117 s run at 10M rows). The results table users query
is this table joined to the run's staging table on the id, a view publish creates
(services/publication.py); the staging table of a published run is kept for it. Nothing is
written to the results table's catalog entry here: publish does that, and only after the
checks below pass.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from domain.context import RunContext
from domain.errors import StageError, VerificationError
from domain.layout import is_data_key
from domain.manifest import Manifest
from domain.ml.model import PREDICTION_SCHEMA
from domain.services.batching import load_manifest
from domain.services.distribution import value_distribution
from domain.services.training import load_card
from domain.sql import number_literal, string_literal

RESULT_COLUMNS = (*PREDICTION_SCHEMA.names, "run_id", "model_version")
# Every value_source the results can hold: a known label, the model's, or the fallback.
VALUE_SOURCES = ("EXISTING", "ML_PREDICTION", "DEFAULT")
# The final join hashes every id it looks up: 1.26 GB for one pass over 10M rows, the run's
# memory peak. Cut into id ranges of at most this many staged rows (a UNION ALL of one join per
# range), DuckDB holds about one range's table at a time: 0.91 GB at 10M rows in two ranges,
# in the same 18 s (measured). Memory then stops growing with the data past this size.
AGGREGATION_PASS_ROWS = 5_000_000


def pass_boundaries(sorted_ids: Sequence[Any], staged_rows: int, pass_rows: int | None = None) -> list[Any]:
    """Ids that cut the staged rows into about equal ranges, `id < b1`, `b1 <= id < b2`, ...

    `sorted_ids` are a random sample of the staged ids, in the engine's order: evenly spaced
    ones are about the quantiles of all the ids. Empty (one pass) when one range is enough or
    an id cannot be written as a literal.
    """
    passes = min(math.ceil(staged_rows / (pass_rows or AGGREGATION_PASS_ROWS)), len(sorted_ids))
    if passes <= 1 or not all(isinstance(i, str | int) and not isinstance(i, bool) for i in sorted_ids):
        return []
    return [sorted_ids[round(k * len(sorted_ids) / passes)] for k in range(1, passes)]


def id_sample(ctx: RunContext, staged_rows: int) -> list[Any]:
    """A sorted sample of the staged ids, only when the final join needs several passes."""
    passes = math.ceil(staged_rows / AGGREGATION_PASS_ROWS)
    if passes <= 1:
        return []
    sample = ctx.ports.engine.sample(
        f"SELECT {ctx.id_column} FROM {{{{ staging }}}}",
        {"staging": ctx.layout.staging},
        rows=passes * 100,
        key=ctx.id_column,
        seed=ctx.spec.model.seed,
        sql_name="aggregation",
        population=staged_rows,  # counted by the stage already (0.26 s at 10M rows)
    )
    ids = [i for i in sample.column(0).to_pylist() if i is not None]
    try:
        return sorted(ids)
    except TypeError:
        return []


def _id_literal(value: Any) -> str:
    return string_literal(value) if isinstance(value, str) else str(int(value))


def _id_range(column: str, low: Any, high: Any) -> str:
    """`low <= column < high`; a None bound is open."""
    parts = [f"{column} >= {_id_literal(low)}"] if low is not None else []
    parts += [f"{column} < {_id_literal(high)}"] if high is not None else []
    return " AND ".join(parts) or "1 = 1"


def check_column_collisions(ctx: RunContext, staging_columns: list[str]) -> None:
    clash = sorted(set(staging_columns) & set(RESULT_COLUMNS))
    if clash:
        raise StageError(
            "results_table",
            f"{ctx.spec.sql.staging} returns column(s) {clash}, which the results table adds itself; "
            "rename them in the staging SELECT",
        )


def final_sql(ctx: RunContext, card: dict[str, Any], has_predictions: bool, boundaries: Sequence[Any] = ()) -> str:
    """Every staged id with its value; one join per id range (see AGGREGATION_PASS_ROWS)."""
    bounds: list[Any] = [None, *boundaries, None]
    parts = [_final_part(ctx, card, has_predictions, low, high) for low, high in itertools.pairwise(bounds)]
    return "\nUNION ALL\n".join(f"({part})" for part in parts) if len(parts) > 1 else parts[0]


def _final_part(ctx: RunContext, card: dict[str, Any], has_predictions: bool, low: Any, high: Any) -> str:
    id_col, label = ctx.id_column, ctx.label
    default = card["default_value"]
    med, low_value, high_value = (number_literal(default[k]) for k in ("value", "lower", "upper"))
    in_range = _id_range(id_col, low, high)
    predictions = (
        "{{ predictions }}"
        if has_predictions
        # No scoring rows, so no prediction files: an empty relation of the right shape.
        else f"(SELECT {id_col}, CAST(NULL AS double) AS value, CAST(NULL AS double) AS value_lower, "
        "CAST(NULL AS double) AS value_upper, CAST(NULL AS double) AS value_confidence, "
        "CAST(NULL AS varchar) AS value_source FROM {{ features }} WHERE 1 = 0)"
    )

    def chosen(column: str, default: str) -> str:
        return f"CASE WHEN v.value IS NOT NULL THEN v.{column} ELSE {default} END AS {column}"

    to_code = " ".join(f"WHEN {string_literal(name)} THEN {code}" for code, name in enumerate(VALUE_SOURCES))
    from_code = " ".join(f"WHEN {code} THEN {string_literal(name)}" for code, name in enumerate(VALUE_SOURCES))
    # One lookup table (known labels and predictions are disjoint: only unlabelled rows are
    # scored) instead of a join to each: one hash table of the range's ids, not two (at 10M rows
    # 1.49 GB peak against 1.74 GB, same time). The source travels through it as a small
    # code, not a string of 13 characters (1.51 GB -> 1.27 GB at 10M rows, same time).
    return f"""
SELECT s.{id_col},
  {chosen("value", med)},
  {chosen("value_lower", low_value)},
  {chosen("value_upper", high_value)},
  {chosen("value_confidence", "CAST(0.0 AS double)")},
  CASE WHEN v.value IS NOT NULL THEN CASE v.source_code {from_code} END ELSE 'DEFAULT' END AS value_source,
  {string_literal(ctx.run_id)} AS run_id,
  {string_literal(card["model_version"])} AS model_version
FROM (SELECT {id_col} FROM {{{{ staging }}}} WHERE {in_range}) s
LEFT JOIN (
  SELECT {id_col}, CAST({label} AS double) AS value, CAST({label} AS double) AS value_lower,
         CAST({label} AS double) AS value_upper, CAST(1.0 AS double) AS value_confidence,
         CAST({VALUE_SOURCES.index("EXISTING")} AS tinyint) AS source_code
  FROM {{{{ features }}}} WHERE {label} IS NOT NULL AND {in_range}
  UNION ALL
  SELECT {id_col}, value, value_lower, value_upper, value_confidence,
         CAST(CASE value_source {to_code} END AS tinyint) AS source_code
  FROM {predictions} p WHERE {in_range}
) v ON s.{id_col} = v.{id_col}"""


def verify_predictions(ctx: RunContext, manifest: Manifest) -> None:
    """Every manifest batch present exactly once, with exactly its expected row count."""
    layout, store = ctx.layout, ctx.ports.store
    files: dict[str, list[str]] = {}
    for obj in store.list(layout.predictions.location):
        if not is_data_key(obj.key):
            continue
        files.setdefault(obj.key.rsplit("/", 1)[0], []).append(obj.key)
    problems: list[str] = []
    for entry in manifest.batches:
        key = layout.prediction_key(entry.batch)
        found = files.pop(key.rsplit("/", 1)[0], [])
        if found != [key]:
            problems.append(f"batch {entry.batch}: expected one file {key}, found {found or 'none'}")
    problems += [f"unexpected prediction files {keys}" for keys in files.values()]
    if manifest.batches and not problems:
        counts = ctx.ports.engine.query(
            "SELECT batch, count(*) AS n FROM {{ predictions }} GROUP BY batch",
            {"predictions": layout.predictions},
            sql_name="aggregation check",
        ).to_pylist()
        found_rows = {int(c["batch"]): int(c["n"]) for c in counts}
        problems += [
            f"batch {e.batch}: {found_rows.get(e.batch, 0)} predictions, the manifest expects {e.rows}"
            for e in manifest.batches
            if found_rows.get(e.batch, 0) != e.rows
        ]
    if problems:
        raise VerificationError("predictions incomplete, nothing published: " + "; ".join(problems[:10]))


def run_aggregation(ctx: RunContext) -> dict[str, Any]:
    layout, engine = ctx.layout, ctx.ports.engine
    manifest = load_manifest(ctx)
    verify_predictions(ctx, manifest)
    card = load_card(ctx)
    inputs = {"staging": layout.staging, "features": layout.features, "predictions": layout.predictions}
    staged = engine.query("SELECT count(*) AS n FROM {{ staging }}", inputs, sql_name="aggregation").to_pylist()[0]["n"]
    boundaries = pass_boundaries(id_sample(ctx, int(staged)), int(staged))
    sql = final_sql(ctx, card, has_predictions=bool(manifest.batches), boundaries=boundaries)
    stats = engine.materialize(layout.results, sql, inputs, sql_name="aggregation")
    report = verify_results(ctx, int(staged))
    report["bytes_scanned"] = stats.bytes_scanned
    report["model_version"] = card["model_version"]
    report["passes"] = len(boundaries) + 1
    report["distribution"] = value_distribution(ctx)  # for the run report and the next run's comparison
    return report


def verify_results(ctx: RunContext, staged: int) -> dict[str, Any]:
    """The values against staging (`staged` rows): every staged id, each exactly once.

    Equal row counts prove it, with no count of distinct ids (1.0-1.5 s at 10M rows):
    final_sql takes each staged row once (its id ranges cut the staged ids, which staging
    proved distinct and never NULL, into disjoint ranges that cover them all) and LEFT JOINs
    it to the values, which gives each staged row at least one result row. So no staged id can
    be missing, and any id valued twice (a label and a prediction, a row scored in two
    batches) makes more result rows than staged ones
    (tests/integration/test_aggregation_passes.py)."""
    sources = ctx.ports.engine.query(
        "SELECT value_source, count(*) AS n FROM {{ results }} GROUP BY value_source ORDER BY value_source",
        {"results": ctx.layout.results},
        sql_name="aggregation check",
    ).to_pylist()
    by_source = {s["value_source"]: int(s["n"]) for s in sources}
    rows = sum(by_source.values())
    if rows != staged:
        raise VerificationError(
            f"results hold {rows} rows for {staged} staged records (each staged id must be there exactly once); "
            "nothing published"
        )
    return {"result_rows": rows, "by_source": by_source}
