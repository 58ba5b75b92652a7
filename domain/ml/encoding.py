"""Arrow table -> the float matrix the models see, with a vocabulary fixed at training.

Strings are categories: each gets the code of its place in the training vocabulary (the
most frequent values, at most `MAX_CATEGORIES`, which histogram gradient boosting needs);
NULL and values never seen in training become NaN, which the models treat as missing.
Encoding is done once per batch with Arrow's kernels and shared by the point and quantile
models (scikit-learn's OrdinalEncoder on object arrays took 2.1 s of a 7.5 s batch).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from domain.ml.features import FeatureSchema

MAX_CATEGORIES = 250


@dataclass(frozen=True)
class FeatureEncoder:
    features: FeatureSchema
    vocabulary: dict[str, tuple[str, ...]]

    @classmethod
    def fit(cls, table: pa.Table, features: FeatureSchema) -> FeatureEncoder:
        vocabulary = {}
        for name in features.categorical:
            counts = pc.value_counts(table.column(name).drop_null()).to_pylist()
            # Most frequent first, ties by value: the same data always gives the same codes.
            ranked = sorted(counts, key=lambda c: (-c["counts"], c["values"]))[:MAX_CATEGORIES]
            vocabulary[name] = tuple(sorted(c["values"] for c in ranked))
        return cls(features, vocabulary)

    @property
    def categorical_mask(self) -> list[bool]:
        return [kind == "string" for _name, kind in self.features.columns]

    def matrix(self, table: pa.Table) -> np.ndarray:
        columns = []
        for name, kind in self.features.columns:
            column = table.column(name)
            if kind == "string":
                values = pa.array(self.vocabulary[name], pa.string())
                column = pc.index_in(column.cast(pa.string()), value_set=values)
            columns.append(column.cast(pa.float64()).to_numpy(zero_copy_only=False))
        if not columns:
            return np.empty((table.num_rows, 0))
        return np.column_stack(columns)
