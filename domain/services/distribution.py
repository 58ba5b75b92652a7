"""The distribution of the published values, per value_source: the known labels (EXISTING)
against the predictions (ML_PREDICTION), for the run report and for the next run's comparison.

Two aggregate queries over the results table, so the record stays a few hundred bytes at any
size: quantiles per source, then a histogram over the central 99% of all values.
"""

from __future__ import annotations

from typing import Any

from domain.context import RunContext
from domain.sql import number_literal

BINS = 40
QUANTILES = (0.005, 0.1, 0.25, 0.5, 0.75, 0.9, 0.995)


def value_distribution(ctx: RunContext) -> dict[str, Any]:
    engine, inputs = ctx.ports.engine, {"results": ctx.layout.results}
    levels = ", ".join(str(q) for q in QUANTILES)
    summary = engine.query(
        f"SELECT value_source, approx_percentile(value, ARRAY[{levels}]) AS q, avg(value) AS mean, "
        "count(value) AS n FROM {{ results }} GROUP BY value_source ORDER BY value_source",
        inputs,
        sql_name="aggregation distribution",
    ).to_pylist()
    sources: dict[str, dict[str, Any]] = {
        row["value_source"]: {
            "rows": int(row["n"]),
            "mean": _number(row["mean"]),
            "quantiles": dict(zip([str(q) for q in QUANTILES], map(_number, row["q"] or []), strict=False)),
        }
        for row in summary
        if row["n"]
    }
    lows = [s["quantiles"].get(str(QUANTILES[0])) for s in sources.values()]
    highs = [s["quantiles"].get(str(QUANTILES[-1])) for s in sources.values()]
    if not sources or None in lows or None in highs:
        return {"sources": sources, "edges": [], "counts": {}}
    low, high = min(v for v in lows if v is not None), max(v for v in highs if v is not None)
    width = (high - low) / BINS if high > low else 1.0
    bins = engine.query(
        f"SELECT value_source, CAST(least(greatest(floor((value - {number_literal(low)}) / {number_literal(width)}), "
        f"0), {BINS - 1}) AS integer) AS bin, count(*) AS n FROM {{{{ results }}}} WHERE value IS NOT NULL "
        "GROUP BY 1, 2",
        inputs,
        sql_name="aggregation distribution",
    ).to_pylist()
    counts: dict[str, list[int]] = {source: [0] * BINS for source in sources}
    for row in bins:
        if row["value_source"] in counts:
            counts[row["value_source"]][int(row["bin"])] += int(row["n"])
    edges = [round(low + i * width, 6) for i in range(BINS + 1)]
    return {"sources": sources, "edges": edges, "counts": counts}


def _number(value: Any) -> float | None:
    return None if value is None else round(float(value), 6)
