"""The two baselines every model card carries, fitted on the model's own training rows and
measured on its holdout: the label's median (what knowing nothing gives: R² about 0) and a
ridge regression on the same encoded features (what a linear model gives). A model that does
not beat the ridge clearly is not earning its trees."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from domain.ml.estimators import build_point_model


def regression_metrics(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    return {
        "r2": round(float(r2_score(actual, predicted)), 6),
        "mae": round(float(mean_absolute_error(actual, predicted)), 6),
        "rmse": round(float(np.sqrt(mean_squared_error(actual, predicted))), 6),
    }


def baseline_metrics(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    categorical: list[bool],
    seed: int,
) -> dict[str, dict[str, float]]:
    """{"median": metrics, "ridge": metrics} on the holdout."""
    median = np.full(len(y_test), float(np.median(y_train)))
    # The ridge the spec's estimator = "ridge" builds, with scikit-learn's default alpha.
    ridge = build_point_model("ridge", {}, categorical, seed).fit(x_train, y_train)
    return {
        "median": regression_metrics(y_test, median),
        "ridge": regression_metrics(y_test, ridge.predict(x_test)),
    }
