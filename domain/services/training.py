"""Training (a container task): fit on a capped sample of labelled rows, save model and card."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from domain.context import RunContext
from domain.errors import VerificationError
from domain.services.features import scoring_rows_sql, training_rows_sql

if TYPE_CHECKING:
    import pyarrow as pa

    from domain.ml.model import TrainedModel

# Rows to score sampled for the drift section: enough for PSI over ten bins per feature.
DRIFT_SAMPLE_ROWS = 20_000

# scikit-learn is imported where a model is fitted, not with this module: the orchestrating
# process reads model cards (load_card) but never fits, and importing scikit-learn cost it
# 0.9 s of every run's start (python -X importtime).


def model_card(
    ctx: RunContext, model: TrainedModel, version: str, rows: int, metrics: dict[str, float | int]
) -> dict[str, Any]:
    from domain.ml.training import library_versions, sql_hash

    spec = ctx.spec.model
    return {
        "model_version": version,
        "run_id": ctx.run_id,
        "label": spec.label,
        "id_column": ctx.id_column,
        "estimator": spec.estimator,
        "params": dict(spec.params),
        "interval_coverage": spec.interval_coverage,
        "features": [{"name": n, "type": t} for n, t in model.features.columns],
        "feature_sql_file": ctx.spec.sql.features,
        "feature_sql_sha256": sql_hash(ctx.spec.sql.features_sql),
        "training_rows": rows,
        "training_sample_cap": spec.training_sample_cap,
        "holdout_fraction": spec.holdout_fraction,
        "metrics": metrics,
        "default_value": {
            "value": model.label_median,
            "lower": model.label_lower,
            "upper": model.label_upper,
        },
        "libraries": library_versions(),
    }


def run_training(ctx: RunContext, elapsed: Callable[[], float] | None = None) -> dict[str, Any]:
    spec, layout, store = ctx.spec, ctx.layout, ctx.ports.store
    if store.exists(layout.model_card_key):
        # The card is written after the model: this run trained already (on AWS, a resumed
        # execution runs the training task again; nothing else records that it finished).
        return card_report(load_card(ctx))
    # Each phase's seconds go on the card: the benchmark compares the sample and the fits in
    # the run with the same calls alone (issue 17: within 1.3x), and shows the report's
    # diagnostics beside them; the rest is the task's start and its files.
    phases: dict[str, float] = {}
    began = time.perf_counter()
    sample = ctx.ports.engine.sample(
        training_rows_sql(ctx.label),
        {"features": layout.features},
        rows=spec.model.training_sample_cap,
        key=ctx.id_column,
        seed=spec.model.seed,
        sql_name="training sample",
    )
    from domain.ml.training import fit

    began = _phase(phases, "sample", began)
    model, metrics = fit(sample, ctx.id_column, spec.model)
    _phase(phases, "fit", began)
    gate = spec.model.min_holdout_r2
    if gate is not None and metrics.r2 < gate:
        # Before the model and card are written: a resume must train again, not take this model.
        raise VerificationError(
            f"the model's holdout R² {metrics.r2:.4f} is below [model] min_holdout_r2 {gate:g} "
            f"(MAE {metrics.mae:.4g} on {metrics.holdout_rows} holdout rows); nothing was scored"
        )
    blob = model.to_bytes()
    version = hashlib.sha256(blob).hexdigest()[:12]
    card = model_card(ctx, model, version, sample.num_rows, metrics.as_dict())
    began = time.perf_counter()
    card.update(write_diagnostics(ctx, model, sample))
    _phase(phases, "diagnostics", began)
    card["phase_seconds"] = phases
    if elapsed is not None:
        card["task_seconds"] = round(elapsed(), 3)  # the task's own time, for the run's ledger
    store.put(layout.model_key, blob)
    store.put(layout.model_card_key, json.dumps(card, indent=1).encode())
    return card_report(card)


def _phase(phases: dict[str, float], name: str, began: float) -> float:
    now = time.perf_counter()
    phases[name] = round(now - began, 3)
    return now


def write_diagnostics(ctx: RunContext, model: TrainedModel, sample: pa.Table) -> dict[str, Any]:
    """The model's diagnostics for the run report (holdout, importance, drift against a sample
    of the rows to score), written beside the model; returns what the card keeps of them (the
    baselines). A diagnostic that fails is recorded, never fails the training."""
    from domain.ml.diagnostics import diagnose

    spec = ctx.spec.model
    try:
        scoring = ctx.ports.engine.sample(
            scoring_rows_sql(ctx.label),
            {"features": ctx.layout.features},
            rows=DRIFT_SAMPLE_ROWS,
            key=ctx.id_column,
            seed=spec.seed,
            sql_name="scoring sample",
        )
        found = diagnose(model, sample, ctx.label, spec, scoring if scoring.num_rows else None)
    except Exception as exc:  # the report says what went wrong; the model is good regardless
        found = {"error": f"{type(exc).__name__}: {exc}"}
    ctx.ports.store.put(ctx.layout.diagnostics_key, json.dumps(found).encode())
    return {"baselines": found["baselines"]} if "baselines" in found else {}


def card_report(card: dict[str, Any]) -> dict[str, Any]:
    """The training stage's report, as a model card records it."""
    extra = {key: card[key] for key in ("baselines", "phase_seconds") if key in card}
    return {
        "training_rows": card["training_rows"],
        "model_version": card["model_version"],
        **card["metrics"],
        **extra,
    }


def load_card(ctx: RunContext) -> dict[str, Any]:
    card: dict[str, Any] = json.loads(ctx.ports.store.get(ctx.layout.model_card_key))
    return card
