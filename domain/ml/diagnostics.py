"""What the run report shows of a model, computed once where the data is (the training task):
holdout quality (predicted against actual, residuals, interval coverage and width per decile
of the prediction, error per category of the most important categorical feature), permutation
feature importance, and drift between the training rows and the rows to score (PSI).

Everything here is small aggregates and a capped sample of points, so the report stays a few
hundred KB whatever the data's size, and the work is bounded (permutation importance on at
most IMPORTANCE_ROWS holdout rows).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pyarrow as pa
from sklearn.inspection import permutation_importance

from domain.ml.baselines import baseline_metrics
from domain.ml.model import TrainedModel
from domain.ml.training import holdout_split
from domain.spec import ModelSection

POINTS = 1500  # predicted/actual pairs kept for the report's scatter
IMPORTANCE_ROWS = 2000
IMPORTANCE_REPEATS = 3
GRID_BINS = 30
RESIDUAL_BINS = 40
DECILES = 10
TOP_CATEGORIES = 15
DRIFT_BINS = 10
# PSI above this is read as a shift worth a look (the usual rule of thumb: < 0.1 stable,
# 0.1-0.25 moderate, > 0.25 large).
PSI_WARNING = 0.2


def diagnose(
    model: TrainedModel, sample: pa.Table, label: str, spec: ModelSection, scoring: pa.Table | None
) -> dict[str, Any]:
    """The report's model sections, from the training sample (split as `fit` split it) and a
    sample of the rows to score (None: no drift section)."""
    x = model.encoder.matrix(sample)
    y = sample.column(label).cast(pa.float64()).to_numpy(zero_copy_only=False)
    x_train, _x_cal, x_test, y_train, _y_cal, y_test = holdout_split(x, y, spec)
    predicted = model.point.predict(x_test)
    low, high = model.interval(x_test, predicted)
    rng = np.random.default_rng(spec.seed)
    importance = _importance(model, x_test, y_test, rng, spec.seed)
    result: dict[str, Any] = {
        "baselines": baseline_metrics(x_train, y_train, x_test, y_test, model.encoder.categorical_mask, spec.seed),
        "holdout_rows": len(y_test),
        "points": _points(y_test, predicted, rng),
        "grid": _grid(y_test, predicted),
        "residuals": _histogram(y_test - predicted, RESIDUAL_BINS),
        "deciles": _deciles(y_test, predicted, low, high),
        "importance": importance,
        "categories": _categories(model, x_test, y_test, predicted, importance),
        "drift": _drift(model, x_train, model.encoder.matrix(scoring)) if scoring is not None else None,
        "psi_warning": PSI_WARNING,
    }
    return result


def _round(values: np.ndarray) -> list[float]:
    return [float(v) for v in np.round(values.astype(float), 4)]


def _points(actual: np.ndarray, predicted: np.ndarray, rng: np.random.Generator) -> dict[str, list[float]]:
    keep = rng.choice(len(actual), size=min(POINTS, len(actual)), replace=False)
    return {"actual": _round(actual[keep]), "predicted": _round(predicted[keep])}


def _grid(actual: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    """Counts of (actual, predicted) in a square grid over the central 99% of both."""
    both = np.concatenate([actual, predicted])
    low, high = np.quantile(both, [0.005, 0.995])
    high = high if high > low else low + 1.0
    counts, edges, _ = np.histogram2d(actual, predicted, bins=GRID_BINS, range=[[low, high], [low, high]])
    return {"edges": _round(edges), "counts": counts.astype(int).tolist()}


def _histogram(values: np.ndarray, bins: int) -> dict[str, Any]:
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return {"edges": [], "counts": []}
    low, high = np.quantile(finite, [0.005, 0.995])
    counts, edges = np.histogram(np.clip(finite, low, high), bins=bins, range=(low, high if high > low else low + 1))
    return {"edges": _round(edges), "counts": counts.tolist()}


def _deciles(actual: np.ndarray, predicted: np.ndarray, low: np.ndarray, high: np.ndarray) -> list[dict[str, Any]]:
    """Interval coverage and width per decile of the predicted value: where the interval holds."""
    order = np.argsort(predicted, kind="stable")
    rows = []
    for number, part in enumerate(np.array_split(order, DECILES), start=1):
        if len(part) == 0:
            continue
        inside = (actual[part] >= low[part]) & (actual[part] <= high[part])
        rows.append(
            {
                "decile": number,
                "rows": len(part),
                "predicted_from": round(float(predicted[part].min()), 4),
                "predicted_to": round(float(predicted[part].max()), 4),
                "coverage": round(float(inside.mean()), 4),
                "width": round(float((high[part] - low[part]).mean()), 4),
                "mae": round(float(np.abs(actual[part] - predicted[part]).mean()), 4),
            }
        )
    return rows


def _importance(
    model: TrainedModel, x_test: np.ndarray, y_test: np.ndarray, rng: np.random.Generator, seed: int
) -> list[dict[str, Any]]:
    """Drop in holdout R² when one feature's values are shuffled, most important first."""
    rows = rng.choice(len(y_test), size=min(IMPORTANCE_ROWS, len(y_test)), replace=False)
    found = permutation_importance(
        model.point, x_test[rows], y_test[rows], n_repeats=IMPORTANCE_REPEATS, random_state=seed, scoring="r2"
    )
    ranked = [
        {"feature": name, "importance": round(float(mean), 5), "std": round(float(std), 5)}
        for name, mean, std in zip(model.features.names, found.importances_mean, found.importances_std, strict=True)
    ]
    return sorted(ranked, key=lambda r: -r["importance"])


def _category_names(model: TrainedModel, feature: str, codes: np.ndarray) -> list[str]:
    vocabulary = model.encoder.vocabulary[feature]
    return ["(missing or rare)" if np.isnan(c) else vocabulary[int(c)] for c in codes]


def _categories(
    model: TrainedModel,
    x_test: np.ndarray,
    actual: np.ndarray,
    predicted: np.ndarray,
    importance: list[dict[str, Any]],
) -> dict[str, Any] | None:
    """Holdout error per category of the most important categorical feature."""
    categorical = set(model.features.categorical)
    feature = next((r["feature"] for r in importance if r["feature"] in categorical), None)
    if feature is None:
        return None
    names = np.array(_category_names(model, feature, x_test[:, model.features.names.index(feature)]))
    error = np.abs(actual - predicted)
    values, counts = np.unique(names, return_counts=True)
    top = values[np.argsort(-counts, kind="stable")][:TOP_CATEGORIES]
    rows = [
        {
            "category": str(value),
            "rows": int((names == value).sum()),
            "mae": round(float(error[names == value].mean()), 4),
            "bias": round(float((predicted - actual)[names == value].mean()), 4),
        }
        for value in top
    ]
    return {"feature": feature, "rows": rows}


def _drift(model: TrainedModel, x_train: np.ndarray, x_score: np.ndarray) -> list[dict[str, Any]]:
    """PSI per feature between the training rows and the rows to score, most drifted first,
    with each bin's share on both sides (deciles of the training values, plus missing)."""
    found = []
    for index, (name, kind) in enumerate(model.features.columns):
        train, score = x_train[:, index], x_score[:, index]
        if kind == "string":
            labels, train_bins, score_bins = _categorical_bins(model, name, train, score)
        else:
            labels, train_bins, score_bins = _numeric_bins(train, score)
        p, q = _shares(train_bins, len(labels)), _shares(score_bins, len(labels))
        psi = float(np.sum((q - p) * np.log(np.maximum(q, 1e-4) / np.maximum(p, 1e-4))))
        found.append(
            {"feature": name, "psi": round(psi, 5), "bins": labels, "training": _round(p), "scoring": _round(q)}
        )
    return sorted(found, key=lambda r: -r["psi"])


def _shares(bins: np.ndarray, count: int) -> np.ndarray:
    counts = np.bincount(bins, minlength=count).astype(float)
    shares: np.ndarray = counts / max(counts.sum(), 1.0)
    return shares


def _numeric_bins(train: np.ndarray, score: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    present = train[~np.isnan(train)]
    edges = np.unique(np.quantile(present, np.linspace(0, 1, DRIFT_BINS + 1))[1:-1]) if len(present) else np.array([])
    labels = [f"< {edges[0]:.4g}"] if len(edges) else ["all"]
    labels += [f"{a:.4g} - {b:.4g}" for a, b in itertools.pairwise(edges)]
    labels += [f">= {edges[-1]:.4g}"] if len(edges) else []
    missing = len(labels)

    def place(values: np.ndarray) -> np.ndarray:
        return np.where(np.isnan(values), missing, np.searchsorted(edges, values, side="right"))

    return [*labels, "missing"], place(train), place(score)


def _categorical_bins(
    model: TrainedModel, name: str, train: np.ndarray, score: np.ndarray
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The most frequent training categories, the rest as one bin, missing as another."""
    codes, counts = np.unique(train[~np.isnan(train)], return_counts=True)
    kept = codes[np.argsort(-counts, kind="stable")][: DRIFT_BINS - 1]
    vocabulary = model.encoder.vocabulary[name]
    labels = [vocabulary[int(c)] for c in kept] + ["other", "missing"]
    # Codes are places in the vocabulary: a lookup array maps each to its bin in one step.
    table = np.full(len(vocabulary), len(kept), dtype=int)
    table[kept.astype(int)] = np.arange(len(kept))

    def place(values: np.ndarray) -> np.ndarray:
        missing = np.isnan(values)
        return np.where(missing, len(kept) + 1, table[np.where(missing, 0, values).astype(int)])

    return labels, place(train), place(score)
