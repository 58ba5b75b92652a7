"""A small synthetic regression problem with a numeric and a categorical feature."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def regression_table(n: int, seed: int = 0, labelled: bool = True) -> pa.Table:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, n)
    group = rng.choice(["a", "b", "c"], n)
    y = 3.0 * x + np.where(group == "b", 5.0, 0.0) + rng.normal(0, 1.0, n)
    return pa.table(
        {
            "id": [f"r{seed}-{i}" for i in range(n)],
            "label": pa.array(y if labelled else [None] * n, pa.float64()),
            "x": x,
            "group": group,
        }
    )


def noisy_table(n: int, seed: int = 0) -> pa.Table:
    """Noise that grows with x (sd 0.2 at x = 0, 4.2 at x = 10): an interval that fits it must
    be wider for large x."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, n)
    group = rng.choice(["a", "b", "c"], n)
    y = 2.0 * x + np.where(group == "c", 3.0, 0.0) + rng.normal(0, 1.0, n) * (0.2 + 0.4 * x)
    return pa.table({"id": [f"n{seed}-{i}" for i in range(n)], "label": y, "x": x, "group": group})
