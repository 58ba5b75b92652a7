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
