from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from domain.errors import DataQualityError, SchemaMismatchError, SpecError
from domain.ml.estimators import check_params
from domain.ml.model import TrainedModel
from domain.ml.training import fit
from domain.spec import ModelSection
from tests.unit.ml_data import regression_table


@pytest.mark.parametrize("estimator", ["ridge", "hist_gradient_boosting"])
def test_fit_measures_the_holdout_and_calibrates_the_interval(estimator: str) -> None:
    spec = ModelSection(label="label", estimator=estimator, interval_coverage=0.8)  # type: ignore[arg-type]
    model, metrics = fit(regression_table(3000), "id", spec)
    assert metrics.r2 > 0.9
    assert 0.7 <= metrics.interval_coverage <= 0.9
    assert metrics.holdout_rows == 300
    assert model.features.columns == (("x", "double"), ("group", "string"))


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
    ],
)
def test_bad_model_params_are_refused_naming_the_parameter(
    estimator: str, params: dict[str, object], message: str
) -> None:
    with pytest.raises(SpecError, match=r"^\[model\] params: .*" + message):
        check_params(estimator, params)


def test_good_model_params_pass_and_reach_the_model() -> None:
    check_params("hist_gradient_boosting", {"max_iter": 60, "learning_rate": 0.4})
    check_params("ridge", {"alpha": 0.5, "random_state": 1})  # Ridge's own random_state is the user's
    spec = ModelSection(label="label", estimator="hist_gradient_boosting", params={"max_iter": 7})
    model, _ = fit(regression_table(400), "id", spec)
    assert model.point.get_params()["max_iter"] == 7


def test_a_label_that_is_not_a_number_is_a_clear_error() -> None:
    table = regression_table(300)
    table = table.set_column(table.schema.get_field_index("label"), "label", table.column("label").cast(pa.string()))
    with pytest.raises(DataQualityError, match="the label 'label' is string; a regression needs a number"):
        fit(table, "id", ModelSection(label="label"))
