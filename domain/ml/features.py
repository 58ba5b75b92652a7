"""The model's input contract: feature names and types, as the model card records them."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from domain.errors import DataQualityError, SchemaMismatchError


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


def training_schema(schema: pa.Schema, id_column: str, label: str) -> FeatureSchema:
    """The features SELECT's columns as a model can take them, or an error saying what to
    change: a numeric label (this is regression), at least one feature, supported types."""
    label_type = schema.field(label).type
    if not (pa.types.is_integer(label_type) or pa.types.is_floating(label_type) or pa.types.is_decimal(label_type)):
        raise DataQualityError(
            f"the label {label!r} is {label_type}; a regression needs a number: cast it in the features SQL"
        )
    features = FeatureSchema.from_arrow(schema, {id_column, label})
    if not features.columns:
        raise DataQualityError("the features SELECT returns no feature columns besides the id and label")
    return features
