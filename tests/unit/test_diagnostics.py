"""The model's diagnostics for the report: baselines on the card, holdout sections, drift."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from domain.context import RunContext
from domain.ml import baselines
from domain.ml.diagnostics import POINTS, diagnose
from domain.ml.estimators import build_point_model
from domain.ml.training import fit
from domain.services.training import run_training
from domain.spec import ModelSection
from tests.unit.fakes import FakeObjectStore, FakeSqlEngine
from tests.unit.ml_data import regression_table


def test_training_writes_diagnostics_and_the_card_carries_both_baselines(ctx: RunContext) -> None:
    engine, store = ctx.ports.engine, ctx.ports.store
    assert isinstance(engine, FakeSqlEngine) and isinstance(store, FakeObjectStore)
    engine.answer(r"IS NOT NULL", regression_table(800))
    engine.answer(r"IS NULL", regression_table(300, seed=5, labelled=False))
    report = run_training(ctx)
    card = json.loads(store.get(ctx.layout.model_card_key))
    baselines = card["baselines"]
    assert set(baselines) == {"median", "ridge"} and report["baselines"] == baselines
    assert abs(baselines["median"]["r2"]) < 0.05  # the median knows nothing
    # The data is linear: the ridge does as well as the model here; the median does nothing.
    assert min(report["r2"], baselines["ridge"]["r2"]) > 0.8 > baselines["median"]["r2"]
    found = json.loads(store.get(ctx.layout.diagnostics_key))
    assert found["importance"][0]["feature"] == "x" and found["categories"]["feature"] == "group"
    assert {r["category"] for r in found["categories"]["rows"]} == {"a", "b", "c"}
    assert len(found["deciles"]) == 10 and sum(d["rows"] for d in found["deciles"]) == found["holdout_rows"]
    assert [d["feature"] for d in found["drift"]] and all(d["psi"] < 0.1 for d in found["drift"])


def test_drift_is_found_where_the_rows_to_score_differ() -> None:
    sample = regression_table(1000)
    model, _ = fit(sample, "id", _spec())
    shifted = regression_table(500, seed=2, labelled=False)
    shifted = shifted.set_column(2, "x", pa.array(np.asarray(shifted.column("x")) + 6.0))
    found = diagnose(model, sample, "label", _spec(), shifted)
    by_feature = {d["feature"]: d for d in found["drift"]}
    assert by_feature["x"]["psi"] > found["psi_warning"] > by_feature["group"]["psi"]
    assert found["drift"][0]["feature"] == "x"  # most drifted first
    assert len(found["points"]["actual"]) == min(POINTS, found["holdout_rows"])
    assert found["grid"]["counts"] and sum(map(sum, found["grid"]["counts"])) <= found["holdout_rows"]


def _spec() -> ModelSection:
    return ModelSection(label="label", min_labelled_rows=10)


def test_the_ridge_baseline_is_fitted_on_a_capped_subsample_of_the_training_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fitted: list[int] = []
    real_build = build_point_model

    def recording_build(*args: Any, **kwargs: Any) -> Any:
        model = real_build(*args, **kwargs)
        real_fit = model.fit

        def fit_and_record(x: np.ndarray, y: np.ndarray) -> Any:
            fitted.append(len(y))
            return real_fit(x, y)

        model.fit = fit_and_record
        return model

    monkeypatch.setattr("domain.ml.baselines.build_point_model", recording_build)
    monkeypatch.setattr(baselines, "RIDGE_ROWS", 300)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1000, 3))
    y = x @ np.array([1.0, 2.0, -1.0]) + rng.normal(scale=0.1, size=1000)
    found = baselines.baseline_metrics(x[:800], y[:800], x[800:], y[800:], [False] * 3, seed=1)
    assert fitted == [300]  # a subsample, not all 800 rows
    assert found["ridge"]["r2"] > 0.95  # and still the yardstick a linear model gives
    assert found["median"]["r2"] < 0.05  # the median of every training row


def test_the_card_records_the_training_tasks_phases(ctx: RunContext) -> None:
    engine = ctx.ports.engine
    assert isinstance(engine, FakeSqlEngine)
    engine.answer(r"IS NOT NULL", regression_table(600))
    engine.answer(r"IS NULL", regression_table(200, seed=5, labelled=False))
    report = run_training(ctx)
    card = json.loads(ctx.ports.store.get(ctx.layout.model_card_key))
    assert set(card["phase_seconds"]) == {"sample", "fit", "diagnostics"}
    assert all(seconds >= 0 for seconds in card["phase_seconds"].values())
    assert report["phase_seconds"] == card["phase_seconds"]  # the stage's report carries them
