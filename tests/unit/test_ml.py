from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from domain.errors import DataQualityError, SchemaMismatchError, SpecError
from domain.ml.model import TrainedModel
from domain.ml.params import check_params
from domain.ml.training import fit
from domain.spec import ModelSection
from tests.unit.ml_data import noisy_table, regression_table

EXAMPLE_SPEC = Path(__file__).parents[2] / "examples" / "age" / "spec.toml"


@pytest.mark.parametrize("estimator", ["lightgbm", "ridge", "hist_gradient_boosting"])
def test_fit_measures_the_holdout_and_calibrates_the_interval(estimator: str) -> None:
    spec = ModelSection(label="label", estimator=estimator, interval_coverage=0.8)  # type: ignore[arg-type]
    model, metrics = fit(regression_table(3000), "id", spec)
    assert metrics.r2 > 0.9
    assert 0.7 <= metrics.interval_coverage <= 0.9
    assert metrics.holdout_rows == 300
    assert model.features.columns == (("x", "double"), ("group", "string"))


def _trees(model: object) -> int:
    booster = getattr(model, "booster_", None)
    return int(booster.num_trees()) if booster is not None else int(getattr(model, "n_iter_", 0))


def test_a_scored_row_walks_few_trees_with_the_example_spec() -> None:
    """Scoring cost is trees per row: the example's model once walked 60 + 30 + 30 (a point
    model and two quantile models); now a LightGBM point model of 15 trees and one interval
    model of 5 small ones (and LightGBM walks a tree in about half the time)."""
    model_spec = tomllib.loads(EXAMPLE_SPEC.read_text())["model"]
    spec = ModelSection(label="label", estimator=model_spec["estimator"], params=model_spec["params"])
    model, metrics = fit(regression_table(3000), "id", spec)
    assert type(model.point).__name__ == "LGBMRegressor"
    assert _trees(model.point) + _trees(model.spread.scale_model) <= 20
    assert metrics.r2 > 0.95


@pytest.mark.parametrize("estimator", ["lightgbm", "ridge", "hist_gradient_boosting"])
def test_the_interval_holds_its_coverage_and_is_wider_where_the_noise_is(estimator: str) -> None:
    """Split conformal calibration holds the coverage asked (within 2 points on 6,000 holdout
    rows, whatever the point model), and the interval follows the noise: here it grows with x."""
    spec = ModelSection(label="label", estimator=estimator, interval_coverage=0.9, holdout_fraction=0.5)  # type: ignore[arg-type]
    model, metrics = fit(noisy_table(24_000), "id", spec)
    assert 0.88 <= metrics.interval_coverage <= 0.92
    test = noisy_table(6000, seed=5)
    out = model.predict(test)
    width = out.column("value_upper").to_numpy() - out.column("value_lower").to_numpy()
    x, y = test.column("x").to_numpy(), test.column("label").to_numpy()
    inside = (out.column("value_lower").to_numpy() <= y) & (y <= out.column("value_upper").to_numpy())
    assert 0.88 <= inside.mean() <= 0.92
    assert width[x > 8].mean() > 3 * width[x < 2].mean()
    # Coverage holds where the noise is small as well as where it is large, not only on average.
    assert inside[x < 3].mean() > 0.85 and inside[x > 7].mean() > 0.85


def test_too_few_labelled_rows_is_a_clear_error() -> None:
    with pytest.raises(DataQualityError, match="only 50 labelled rows"):
        fit(regression_table(50), "id", ModelSection(label="label", min_labelled_rows=100))


def test_predictions_carry_bounds_confidence_and_source() -> None:
    model, _ = fit(regression_table(2000), "id", ModelSection(label="label"))
    table = regression_table(100, seed=1, labelled=False)
    empty = pa.table(
        {
            "id": ["e"],
            "label": pa.array([None], pa.float64()),
            "x": pa.array([None], pa.float64()),
            "group": pa.array([None], pa.string()),
        }
    )
    out = model.predict(pa.concat_tables([table, empty]))
    value, low, high = (out.column(c).to_numpy() for c in ("value", "value_lower", "value_upper"))
    assert np.all(low <= value) and np.all(value <= high)
    confidence = out.column("value_confidence").to_numpy()
    assert np.all((confidence >= 0) & (confidence <= 1))
    sources = out.column("value_source").to_pylist()
    assert sources[:100] == ["ML_PREDICTION"] * 100
    assert sources[100] == "DEFAULT" and confidence[100] == 0.0 and value[100] == model.label_median


def test_unknown_and_missing_categories_are_treated_as_missing() -> None:
    model, _ = fit(regression_table(800), "id", ModelSection(label="label"))
    table = regression_table(3, seed=4, labelled=False)
    table = table.set_column(3, "group", pa.array(["a", "never-seen", None]))
    x = model.encoder.matrix(table)
    assert x[0, 1] == model.encoder.vocabulary["group"].index("a")
    assert np.isnan(x[1, 1]) and np.isnan(x[2, 1])
    assert model.predict(table).column("value_source").to_pylist() == ["ML_PREDICTION"] * 3


def test_model_survives_serialisation() -> None:
    model, _ = fit(regression_table(500), "id", ModelSection(label="label"))
    table = regression_table(20, seed=3, labelled=False)
    again = TrainedModel.from_bytes(model.to_bytes())
    assert again.predict(table).equals(model.predict(table))


def test_a_batch_with_other_feature_types_is_refused() -> None:
    model, _ = fit(regression_table(500), "id", ModelSection(label="label"))
    table = regression_table(20, seed=3, labelled=False)
    wrong = table.set_column(2, "x", table.column("x").cast(pa.string()))
    with pytest.raises(SchemaMismatchError, match=r"type changed x: double -> string"):
        model.features.check(wrong.schema, {"id", "label"}, where="batch 3")
    with pytest.raises(SchemaMismatchError, match=r"missing \['group'\]"):
        model.features.check(table.drop_columns(["group"]).schema, {"id", "label"}, where="batch 3")


@pytest.mark.parametrize(
    ("estimator", "params", "message"),
    [
        ("hist_gradient_boosting", {"max_iters": 60}, r"no parameter 'max_iters' \(did you mean max_iter\?\)"),
        ("hist_gradient_boosting", {"max_iter": "sixty"}, r"'max_iter' parameter .* must be an int .* Got 'sixty'"),
        ("hist_gradient_boosting", {"learning_rate": 0}, r"'learning_rate' parameter .* range \(0.0, inf\)"),
        ("hist_gradient_boosting", {"random_state": 1}, r"random_state cannot be set: .* \[model\] seed"),
        ("hist_gradient_boosting", {"categorical_features": "from_dtype"}, r"cannot be set: .* feature types"),
        ("ridge", {"alpha": -1.0}, r"'alpha' parameter of Ridge must be a float in the range \[0.0, inf\)"),
        ("ridge", {"zzz": 1}, r"ridge has no parameter 'zzz' \(valid: alpha, .*\)"),
        ("lightgbm", {"num_leave": 31}, r"lightgbm has no parameter 'num_leave' \(did you mean num_leaves\?\)"),
        ("lightgbm", {"zzz": 1}, r"lightgbm has no parameter 'zzz' \(see its parameter reference\)"),
        ("lightgbm", {"num_leaves": 1}, r"LightGBM refuses them: Check failed: \(num_leaves\) > \(1\)$"),
        ("lightgbm", {"num_leaves": "many"}, r"LightGBM refuses them: Parameter num_leaves should be of type int"),
        ("lightgbm", {"learning_rate": 0}, r"LightGBM refuses them: Check failed: \(learning_rate\) > \(0.0\)$"),
        ("lightgbm", {"n_estimators": 0}, r"n_estimators must be an integer >= 1, got 0"),
        ("lightgbm", {"num_iterations": 2.5}, r"num_iterations must be an integer >= 1, got 2.5"),
        ("lightgbm", {"random_state": 1}, r"random_state cannot be set: .* \[model\] seed"),
        ("lightgbm", {"seed": 1}, r"seed cannot be set: .* \[model\] seed"),
        ("lightgbm", {"n_jobs": 4}, r"n_jobs cannot be set: a task's threads are set by the task runner"),
        ("lightgbm", {"cat_feature": "0"}, r"cat_feature cannot be set: .* feature types"),
    ],
)
def test_bad_model_params_are_refused_naming_the_parameter(
    estimator: str, params: dict[str, object], message: str
) -> None:
    with pytest.raises(SpecError, match=r"^\[model\] params: .*" + message):
        check_params(estimator, params)


def test_good_model_params_pass_and_reach_the_model() -> None:
    check_params("hist_gradient_boosting", {"max_iter": 60, "learning_rate": 0.4})
    # LightGBM's scikit-learn names and its native ones (with their aliases) alike.
    check_params("lightgbm", {"n_estimators": 20, "num_leaves": 63, "min_data_in_leaf": 10, "feature_fraction": 0.9})
    spec = ModelSection(label="label", params={"n_estimators": 7, "min_data_in_leaf": 5})
    model, _ = fit(regression_table(400), "id", spec)
    assert _trees(model.point) == 7 and model.point.get_params()["min_data_in_leaf"] == 5
    # Settings batchml makes by default give way to the user's (they once clashed: a TypeError).
    spec = ModelSection(label="label", params={"verbose": -1, "force_row_wise": True, "deterministic": False})
    model, _ = fit(regression_table(400), "id", spec)
    assert model.point.get_params()["force_row_wise"] is True
    check_params("ridge", {"alpha": 0.5, "random_state": 1})  # Ridge's own random_state is the user's
    spec = ModelSection(label="label", estimator="hist_gradient_boosting", params={"max_iter": 7})
    model, _ = fit(regression_table(400), "id", spec)
    assert model.point.get_params()["max_iter"] == 7


def test_lightgbm_splits_on_categories_as_categories() -> None:
    """Category codes are numbers in the matrix: LightGBM must be told which columns they are,
    at fit time (it ignores them as a constructor parameter), or it splits on code order."""
    model, _ = fit(regression_table(2000), "id", ModelSection(label="label"))
    for fitted in (model.point, model.spread.scale_model):
        splits = [node for tree in fitted.booster_.dump_model()["tree_info"] for node in _nodes(tree["tree_structure"])]
        on_group = [node["decision_type"] for node in splits if node["split_feature"] == 1]
        assert on_group and set(on_group) == {"=="}


def _nodes(node: dict[str, object]) -> list[dict[str, object]]:
    if "split_feature" not in node:
        return []
    return [node, *_nodes(node["left_child"]), *_nodes(node["right_child"])]  # type: ignore[arg-type]


def test_a_label_that_is_not_a_number_is_a_clear_error() -> None:
    table = regression_table(300)
    table = table.set_column(table.schema.get_field_index("label"), "label", table.column("label").cast(pa.string()))
    with pytest.raises(DataQualityError, match="the label 'label' is string; a regression needs a number"):
        fit(table, "id", ModelSection(label="label"))
