"""Fit a point model and its interval; measure them on a holdout."""

from __future__ import annotations

import hashlib
import platform
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pyarrow as pa
import sklearn
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

from domain.errors import DataQualityError
from domain.ml.encoding import FeatureEncoder
from domain.ml.estimators import build_point_model, fit_estimator
from domain.ml.features import training_schema
from domain.ml.intervals import ResidualInterval
from domain.ml.model import TrainedModel
from domain.spec import ModelSection


@dataclass(frozen=True)
class Metrics:
    mae: float
    rmse: float
    r2: float
    interval_coverage: float
    mean_interval_width: float
    holdout_rows: int

    def as_dict(self) -> dict[str, float | int]:
        values: dict[str, float | int] = {k: round(float(v), 6) for k, v in self.__dict__.items()}
        values["holdout_rows"] = self.holdout_rows
        return values


def fit(table: pa.Table, id_column: str, spec: ModelSection) -> tuple[TrainedModel, Metrics]:
    """Train on `table` (labelled rows with the features SELECT's columns).

    The holdout is split in two: one half calibrates the interval (its conformal factor), the
    other measures everything, so the reported coverage is honest.
    """
    if table.num_rows < spec.min_labelled_rows:
        raise DataQualityError(
            f"only {table.num_rows} labelled rows (label {spec.label!r} not NULL); "
            f"training needs at least {spec.min_labelled_rows} ([model] min_labelled_rows)"
        )
    features = training_schema(table.schema, id_column, spec.label)
    encoder = FeatureEncoder.fit(table, features)
    x = encoder.matrix(table)
    y = table.column(spec.label).cast(pa.float64()).to_numpy(zero_copy_only=False)
    x_train, x_cal, x_test, y_train, y_cal, y_test = holdout_split(x, y, spec)
    alpha = (1.0 - spec.interval_coverage) / 2.0
    mask = encoder.categorical_mask
    point = fit_estimator(build_point_model(spec.estimator, dict(spec.params), mask, spec.seed), x_train, y_train, mask)
    residual = np.abs(y_train - point.predict(x_train))
    spread = ResidualInterval.fit(x_train, residual, spec.interval_coverage, mask, spec.seed)
    spread.calibrate(x_cal, np.abs(y_cal - point.predict(x_cal)), spec.interval_coverage)
    lo_q, median, hi_q = np.quantile(y_train, [alpha, 0.5, 1.0 - alpha])
    model = TrainedModel(
        encoder=encoder,
        point=point,
        spread=spread,
        label_median=float(median),
        label_lower=float(lo_q),
        label_upper=float(hi_q),
    )
    return model, _evaluate(model, x_test, y_test)


def holdout_split(x: np.ndarray, y: np.ndarray, spec: ModelSection) -> tuple[np.ndarray, ...]:
    """(x_train, x_cal, x_test, y_train, y_cal, y_test): the same split for the same sample and
    spec, so the diagnostics (domain/ml/diagnostics.py) see the rows the metrics were measured on."""
    x_train, x_held, y_train, y_held = train_test_split(x, y, test_size=spec.holdout_fraction, random_state=spec.seed)
    x_cal, x_test, y_cal, y_test = train_test_split(x_held, y_held, test_size=0.5, random_state=spec.seed)
    return x_train, x_cal, x_test, y_train, y_cal, y_test


def _evaluate(model: TrainedModel, x_test: Any, y_test: np.ndarray) -> Metrics:
    predicted = model.point.predict(x_test)
    low, high = model.interval(x_test, predicted)
    return Metrics(
        mae=float(mean_absolute_error(y_test, predicted)),
        rmse=float(np.sqrt(mean_squared_error(y_test, predicted))),
        r2=float(r2_score(y_test, predicted)),
        interval_coverage=float(np.mean((y_test >= low) & (y_test <= high))),
        mean_interval_width=float(np.mean(high - low)),
        holdout_rows=len(y_test),
    )


def sql_hash(sql: str) -> str:
    return hashlib.sha256(sql.encode()).hexdigest()


def library_versions() -> dict[str, str]:
    """Versions a model file depends on: a different scikit-learn or LightGBM may not load it."""
    import lightgbm

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "lightgbm": lightgbm.__version__,
        "numpy": np.__version__,
        "pyarrow": pa.__version__,
        "pandas": pd.__version__,
        "joblib": joblib.__version__,
    }
