"""Estimator construction: a point model and two quantile models for the interval.

Intervals always come from quantile gradient boosting (fast, no distributional
assumption), whatever the point estimator is, so every estimator gets calibrated-by-design
bounds whose coverage the holdout measures.
"""

from __future__ import annotations

from typing import Any

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from domain.errors import SpecError

ESTIMATORS = ("ridge", "hist_gradient_boosting")


def _ordinal(numeric: list[str], categorical: list[str]) -> ColumnTransformer:
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1, dtype=float
    )
    return ColumnTransformer(
        [("num", "passthrough", numeric), ("cat", encoder, categorical)], verbose_feature_names_out=False
    )


def _hgb(numeric: list[str], categorical: list[str], **params: Any) -> Pipeline:
    n_num = len(numeric)
    cat_mask = [False] * n_num + [True] * len(categorical)
    model = HistGradientBoostingRegressor(categorical_features=cat_mask if categorical else None, **params)
    return make_pipeline(_ordinal(numeric, categorical), model)


def _ridge(numeric: list[str], categorical: list[str], **params: Any) -> Pipeline:
    pre = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="__missing__"),
                    OneHotEncoder(handle_unknown="ignore", min_frequency=20),
                ),
                categorical,
            ),
        ]
    )
    return make_pipeline(pre, Ridge(**params))


def build_point_model(
    estimator: str, params: dict[str, Any], numeric: list[str], categorical: list[str], seed: int
) -> Pipeline:
    try:
        if estimator == "ridge":
            return _ridge(numeric, categorical, **params)
        if estimator == "hist_gradient_boosting":
            return _hgb(numeric, categorical, random_state=seed, **params)
    except TypeError as exc:  # an unknown estimator parameter
        raise SpecError(f"[model] params: {exc}") from exc
    raise SpecError(f"[model] estimator: {estimator!r} is not one of {ESTIMATORS}")


def build_quantile_model(quantile: float, numeric: list[str], categorical: list[str], seed: int) -> Pipeline:
    return _hgb(numeric, categorical, loss="quantile", quantile=quantile, random_state=seed, max_iter=200)
