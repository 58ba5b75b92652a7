"""`[model] params` checked against the estimator's own rules, before any data is read.

Each library checks in its own way: scikit-learn has `_validate_params` (what `fit` calls
first); LightGBM checks names and values in its C++ config, which a one-tree fit on a few
made-up rows runs in milliseconds.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from domain.errors import SpecError

ESTIMATORS = ("lightgbm", "hist_gradient_boosting", "ridge")

# Parameters batchml sets itself: the categorical features come from the features' types, the
# random state from [model] seed. (Ridge takes its own random_state as the user gives it.)
_SET_BY_BATCHML = {
    "hist_gradient_boosting": {
        "categorical_features": "batchml sets it from the feature types",
        "random_state": "batchml sets it from [model] seed",
    },
}
# The same for LightGBM, by native name: every alias of these is refused too (`random_state`
# is an alias of `seed`, `n_jobs` of `num_threads`). A task's threads are the task runner's
# to set, as a Fargate task's vCPUs are its own.
_LIGHTGBM_SET_BY_BATCHML = {
    "categorical_feature": "batchml sets it from the feature types",
    "seed": "batchml sets it from [model] seed",
    "num_threads": "a task's threads are set by the task runner",
}


def check_params(estimator: str, params: Mapping[str, Any]) -> None:
    """Raise SpecError naming the parameter if `estimator` would refuse `params`: an unknown
    name (with the closest valid one suggested), a wrong type, a value out of range."""
    if estimator not in ESTIMATORS:
        raise SpecError(f"[model] estimator: {estimator!r} is not one of {ESTIMATORS}")
    if estimator == "lightgbm":
        _check_lightgbm(params)
    else:
        _check_sklearn(estimator, params)


def _check_names(estimator: str, params: Mapping[str, Any], valid: set[str], reserved: Mapping[str, str]) -> None:
    for name in params:
        if name in reserved:
            raise SpecError(f"[model] params: {name} cannot be set: {reserved[name]}")
        if name not in valid:
            close = difflib.get_close_matches(name, sorted(valid), n=1)
            # LightGBM takes hundreds of names (aliases included): too many to list in one line.
            listed = f"valid: {', '.join(sorted(valid))}" if len(valid) <= 30 else "see its parameter reference"
            hint = f"did you mean {close[0]}?" if close else listed
            raise SpecError(f"[model] params: {estimator} has no parameter {name!r} ({hint})")


def _check_sklearn(estimator: str, params: Mapping[str, Any]) -> None:
    """Names against `get_params`; values with scikit-learn's `_validate_params`. If a later
    release drops that, names are still checked and values are checked by `fit`."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import Ridge

    model: Any = Ridge() if estimator == "ridge" else HistGradientBoostingRegressor()
    reserved = _SET_BY_BATCHML.get(estimator, {})
    _check_names(estimator, params, set(model.get_params()) - set(reserved), reserved)
    validate = getattr(model.set_params(**params), "_validate_params", None)
    if callable(validate):
        try:
            validate()
        except ValueError as exc:  # InvalidParameterError is a ValueError
            raise SpecError(f"[model] params: {exc}") from None


def lightgbm_names() -> set[str]:
    """What LightGBM takes: LGBMRegressor's own parameters, and LightGBM's native names with
    their aliases (`min_data_in_leaf`, `feature_fraction`, ...). The native list is LightGBM's
    own dump of its config; it is looked up defensively, and without it only LGBMRegressor's
    names are accepted."""
    import lightgbm

    names = set(lightgbm.LGBMRegressor().get_params())
    aliases = getattr(getattr(lightgbm.basic, "_ConfigAliases", None), "_get_all_param_aliases", None)
    if callable(aliases):
        with contextlib.suppress(Exception):  # a private helper: if it changes, the public names only
            names.update(alias for group in aliases().values() for alias in group)
    return names


def _check_lightgbm(params: Mapping[str, Any]) -> None:
    import lightgbm

    reserved = {alias: why for native, why in _LIGHTGBM_SET_BY_BATCHML.items() for alias in _aliases_of(native)}
    _check_names("lightgbm", params, lightgbm_names() - set(reserved), reserved)
    rounds = {name: value for name, value in params.items() if name in _aliases_of("num_iterations")}
    for name, value in rounds.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SpecError(f"[model] params: {name} must be an integer >= 1, got {value!r}")
    # LightGBM checks types and ranges when it builds its config: one tree on made-up rows.
    others = {name: value for name, value in params.items() if name not in rounds}
    rows = np.arange(60, dtype=np.float64).reshape(30, 2)
    try:
        lightgbm.LGBMRegressor(**{**others, "n_estimators": 1, "verbose": -1, "n_jobs": 1}).fit(rows, rows[:, 0])
    except (lightgbm.basic.LightGBMError, ValueError, TypeError) as exc:
        # "Check failed: (num_leaves) > (1) at /path/config_auto.cpp, line 352 ." -> the check alone
        reason = re.sub(r" at \S+, line \d+\s*\.?\s*$", "", str(exc).strip())
        raise SpecError(f"[model] params: LightGBM refuses them: {reason}") from None


def _aliases_of(native: str) -> list[str]:
    """`native` and its aliases, from LightGBM's own list (a private helper, looked up
    defensively: without it, the name alone)."""
    import lightgbm

    get_sorted = getattr(getattr(lightgbm.basic, "_ConfigAliases", None), "get_sorted", None)
    try:
        return list(get_sorted(native)) if callable(get_sorted) else [native]
    except Exception:
        return [native]
