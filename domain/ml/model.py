"""The trained model as the prediction tasks use it: features in, value and interval out."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pyarrow as pa
from sklearn.pipeline import Pipeline

from domain.errors import SchemaMismatchError

PREDICTION_SCHEMA = pa.schema(
    [
        ("value", pa.float64()),
        ("value_lower", pa.float64()),
        ("value_upper", pa.float64()),
        ("value_confidence", pa.float64()),
        ("value_source", pa.string()),
    ]
)


@dataclass(frozen=True)
class FeatureSchema:
    """Names and Arrow types of the model's inputs, in order; the contract batches must meet."""

    columns: tuple[tuple[str, str], ...]

    @classmethod
    def from_arrow(cls, schema: pa.Schema, exclude: set[str]) -> FeatureSchema:
        return cls(tuple((f.name, _type_name(f.type)) for f in schema if f.name not in exclude))

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.columns]

    @property
    def categorical(self) -> list[str]:
        return [name for name, kind in self.columns if kind == "string"]

    @property
    def numeric(self) -> list[str]:
        return [name for name, kind in self.columns if kind != "string"]

    def check(self, schema: pa.Schema, exclude: set[str], where: str) -> None:
        found = FeatureSchema.from_arrow(schema, exclude)
        if found.columns != self.columns:
            expected = dict(self.columns)
            actual = dict(found.columns)
            missing = sorted(set(expected) - set(actual))
            extra = sorted(set(actual) - set(expected))
            changed = sorted(n for n in set(expected) & set(actual) if expected[n] != actual[n])
            details = []
            if missing:
                details.append(f"missing {missing}")
            if extra:
                details.append(f"unexpected {extra}")
            if changed:
                details.append("type changed " + ", ".join(f"{n}: {expected[n]} -> {actual[n]}" for n in changed))
            if not details:
                details.append("column order differs")
            raise SchemaMismatchError(f"{where}: features do not match the model card ({'; '.join(details)})")


def _type_name(t: pa.DataType) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "double"
    raise SchemaMismatchError(
        f"feature type {t} is not supported; cast it to a number, boolean or varchar in the features SQL"
    )


def to_frame(table: pa.Table, features: FeatureSchema) -> pd.DataFrame:
    """Arrow -> the frame sklearn sees: numbers as float (NULL -> NaN), strings as objects."""
    data: dict[str, Any] = {}
    for name, kind in features.columns:
        column = table.column(name)
        if kind == "string":
            values = column.to_numpy(zero_copy_only=False).astype(object)
            values[pd.isna(values)] = np.nan
            data[name] = values
        else:
            data[name] = column.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return pd.DataFrame(data, columns=features.names)


@dataclass
class TrainedModel:
    features: FeatureSchema
    point: Pipeline
    lower: Pipeline
    upper: Pipeline
    label_median: float
    label_lower: float  # the label's own central interval: the "know nothing" bounds
    label_upper: float
    # Conformal margin added to both quantile bounds so the interval holds the spec's
    # coverage on data the quantile models did not see (conformalized quantile regression).
    interval_margin: float = 0.0

    def interval(self, frame: pd.DataFrame, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        low = np.minimum(self.lower.predict(frame) - self.interval_margin, value)
        high = np.maximum(self.upper.predict(frame) + self.interval_margin, value)
        return low, high

    def predict(self, table: pa.Table) -> pa.Table:
        """Value, bounds, confidence and source for every row of `table`, in order.

        Rows whose features are all NULL carry no information: they get the DEFAULT (the
        training median and the label's own interval) instead of an extrapolation.
        confidence = 1 - (interval width / width of the label's own interval), clipped to
        [0, 1]: 0 means the model knows no more than the label's distribution.
        """
        n = table.num_rows
        if n == 0:
            return PREDICTION_SCHEMA.empty_table()
        frame = to_frame(table, self.features)
        value = self.point.predict(frame)
        low, high = self.interval(frame, value)
        empty = frame.isna().all(axis=1).to_numpy() | ~np.isfinite(value)
        value = np.where(empty, self.label_median, value)
        low = np.where(empty, self.label_lower, low)
        high = np.where(empty, self.label_upper, high)
        spread = max(self.label_upper - self.label_lower, 1e-12)
        confidence = np.where(empty, 0.0, np.clip(1.0 - (high - low) / spread, 0.0, 1.0))
        source = np.where(empty, "DEFAULT", "ML_PREDICTION")
        return pa.table([value, low, high, confidence, pa.array(source, pa.string())], schema=PREDICTION_SCHEMA)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        joblib.dump(self, buffer, compress=3)
        return buffer.getvalue()

    @staticmethod
    def from_bytes(data: bytes) -> TrainedModel:
        model = joblib.load(io.BytesIO(data))
        if not isinstance(model, TrainedModel):
            raise TypeError("the model file does not hold a batchml TrainedModel")
        return model
