"""Features: the ONE features SELECT, materialised once for training and scoring rows alike.

Training reads the rows of this table whose label is known; batch planning reads the rows
whose label is NULL. There is no second copy of the feature logic anywhere.
"""

from __future__ import annotations

from typing import Any

from domain.context import RunContext
from domain.errors import StageError
from domain.sql_lineage import keeps_source_ids


def training_rows_sql(label: str) -> str:
    return f"SELECT * FROM {{{{ features }}}} WHERE {label} IS NOT NULL"


def scoring_rows_sql(label: str) -> str:
    return f"SELECT * FROM {{{{ features }}}} WHERE {label} IS NULL"


def run_features(ctx: RunContext) -> dict[str, Any]:
    spec, layout, engine = ctx.spec, ctx.layout, ctx.ports.engine
    stats = engine.materialize(
        layout.features, spec.sql.features_sql, {"staging": layout.staging}, sql_name=spec.sql.features
    )
    inputs = {"features": layout.features}
    columns = engine.query("SELECT * FROM {{ features }} LIMIT 0", inputs, sql_name="features check").schema
    missing = [c for c in (ctx.id_column, ctx.label) if c not in columns.names]
    if missing:
        raise StageError(
            "features",
            f"{spec.sql.features} must return the id column {ctx.id_column!r} and the label "
            f"{ctx.label!r}; missing {missing} (it returns {columns.names})",
        )
    # A SELECT that keeps staging's (distinct) ids, row by row, cannot repeat one: no need to count them.
    kept = keeps_source_ids(spec.sql.features_sql, "staging", ctx.id_column)
    ids = "count(*)" if kept else f"count(DISTINCT {ctx.id_column})"
    row = engine.query(
        f"SELECT count(*) AS n, {ids} AS ids, count({ctx.label}) AS labelled FROM {{{{ features }}}}",
        inputs,
        sql_name="features check",
    ).to_pylist()[0]
    if row["n"] != row["ids"]:
        raise StageError(
            "features",
            f"{spec.sql.features} returned {row['n']} rows but {row['ids']} distinct ids; "
            "it must return at most one row per staged record",
        )
    staged = engine.query(
        "SELECT count(*) AS n FROM {{ staging }}", {"staging": layout.staging}, sql_name="features check"
    ).to_pylist()[0]["n"]
    return {
        "feature_rows": int(row["n"]),
        "labelled_rows": int(row["labelled"]),
        "scoring_rows": int(row["n"]) - int(row["labelled"]),
        "rows_without_features": int(staged) - int(row["n"]),
        "feature_columns": [c for c in columns.names if c not in (ctx.id_column, ctx.label)],
        "bytes_scanned": stats.bytes_scanned,
    }
