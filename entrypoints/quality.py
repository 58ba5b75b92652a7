"""The model's quality beside its baselines, as one short text for the summary and `runs`."""

from __future__ import annotations

from typing import Any

# The baselines every model card carries (domain/ml/baselines.py), in the order they are named.
BASELINE_NAMES = ("ridge", "median")


def baseline_text(training: dict[str, Any]) -> str:
    """ "ridge 0.712, median -0.000": each baseline's holdout R² ("" for a card without them)."""
    baselines = training.get("baselines") or {}
    parts = [f"{name} {baselines[name]['r2']:.3f}" for name in BASELINE_NAMES if name in baselines]
    return ", ".join(parts)


def model_line(training: dict[str, Any]) -> str:
    """The summary's model line: the metrics, then how much the model beats each baseline."""
    text = (
        f"holdout R² {training['r2']:.3f}, MAE {training['mae']:.3f}, RMSE {training['rmse']:.3f}, "
        f"interval coverage {training['interval_coverage']:.1%} on {training['holdout_rows']:,} holdout rows"
    )
    baselines = training.get("baselines") or {}
    beats = [
        f"{name} R² {baselines[name]['r2']:.3f} (MAE {_less(training['mae'], baselines[name]['mae'])})"
        for name in BASELINE_NAMES
        if name in baselines
    ]
    return f"{text}; baselines: {', '.join(beats)}" if beats else text


def _less(model: float, baseline: float) -> str:
    """How much lower the model's error is than a baseline's, in percent of the baseline's."""
    if baseline <= 0:
        return f"{baseline:.3f}"
    return f"{baseline:.3f}, model {(baseline - model) / baseline:+.0%} lower".replace("+", "")
