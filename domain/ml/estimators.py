"""Estimator construction: the point model the spec names, and the small model of the
residuals' size that the interval comes from (see `domain/ml/intervals.py`).

Every model receives the same float matrix from `FeatureEncoder` (categories as codes, NaN
for missing).
"""

from __future__ import annotations

from typing import Any

# At import, with scikit-learn: the task module imports this one, so the fork server loads
# LightGBM (and its OpenMP runtime) once, instead of every prediction task loading it when it
# unpickles the model.
import lightgbm
import numpy as np
from sklearn.base import RegressorMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from domain.ml.params import check_params

# Always set on LightGBM:
# - n_jobs 0: OpenMP's own thread count, which the task runner sets (OMP_NUM_THREADS, and
#   threadpoolctl in forked tasks), as for scikit-learn. LightGBM's default (None) is "every
#   physical core", whatever those say: each one-thread prediction task then ran two threads,
#   and a training fit on a busy machine took 9 s of CPU instead of 1.4 (measured).
# - quiet, and the same model from the same data (`deterministic` with column-wise
#   histograms: checked equal on one and two threads; the floor and the pipeline train in
#   different processes).
_LIGHTGBM_FIXED: dict[str, Any] = {"n_jobs": 0, "verbose": -1, "deterministic": True, "force_col_wise": True}


def _lightgbm(seed: int, **params: Any) -> RegressorMixin:
    fixed = dict(_LIGHTGBM_FIXED)
    if "force_row_wise" in params:  # the user's choice of histogram layout wins; both is an error
        fixed.pop("force_col_wise")
    model: RegressorMixin = lightgbm.LGBMRegressor(random_state=seed, **{**fixed, **params})
    return model


def fit_estimator(model: Any, x: np.ndarray, y: np.ndarray, categorical: list[bool]) -> Any:
    """`model.fit(x, y)`, telling LightGBM which columns are categories: it takes them at fit
    time only (as a constructor parameter it is ignored, with a warning). The others were told
    when they were built."""
    if type(model).__module__.startswith("lightgbm"):
        codes = [i for i, is_cat in enumerate(categorical) if is_cat]
        return model.fit(x, y, categorical_feature=codes)
    return model.fit(x, y)


def _hgb(categorical: list[bool], **params: Any) -> HistGradientBoostingRegressor:
    return HistGradientBoostingRegressor(categorical_features=categorical if any(categorical) else None, **params)


def _ridge(categorical: list[bool], **params: Any) -> Pipeline:
    numeric_idx = [i for i, is_cat in enumerate(categorical) if not is_cat]
    categorical_idx = [i for i, is_cat in enumerate(categorical) if is_cat]
    pre = ColumnTransformer(
        [
            (
                "num",
                make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()),
                numeric_idx,
            ),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value=-1.0),
                    OneHotEncoder(handle_unknown="ignore", min_frequency=20),
                ),
                categorical_idx,
            ),
        ]
    )
    return make_pipeline(pre, Ridge(**params))


def build_point_model(estimator: str, params: dict[str, Any], categorical: list[bool], seed: int) -> RegressorMixin:
    check_params(estimator, params)
    if estimator == "ridge":
        return _ridge(categorical, **params)
    if estimator == "hist_gradient_boosting":
        return _hgb(categorical, random_state=seed, **params)
    return _lightgbm(seed, **params)


def build_scale_model(coverage: float, seed: int) -> RegressorMixin:
    """The `coverage` quantile of the absolute residual, whatever the point estimator.

    Small on purpose: conformal calibration fixes the coverage, this model only decides where
    the interval is wider or narrower. Measured on the age example (200k labelled profiles,
    80% asked, LightGBM point model) and on synthetic data whose noise grows with a feature:
    5 trees of 15 leaves gave the same coverage in every quarter of the widths (0.78-0.82) and
    intervals as narrow as 10 trees did (6.80 against 6.86 years on the age example); the two
    quantile models of 30 trees this replaces gave 7.77 (see benchmarks/findings.md).
    """
    return _lightgbm(
        seed,
        objective="quantile",
        alpha=coverage,
        n_estimators=5,
        num_leaves=15,
        learning_rate=0.5,
    )
