"""Athena's GetQueryResults pages -> one Arrow table, typed by the result's ColumnInfo.

Athena hands every value over as text (`VarCharValue`, absent for NULL); the column types
say how to read it back. An array of numbers (`[0.5, 1.25]`, what approx_percentile with an
array of levels gives) becomes a list of doubles; other types Arrow has no direct reading for
(nested arrays, maps, rows, JSON, time zones) stay text, as the Athena console shows them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pyarrow as pa

_TYPES: dict[str, pa.DataType] = {
    "boolean": pa.bool_(),
    "tinyint": pa.int8(),
    "smallint": pa.int16(),
    "integer": pa.int32(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "real": pa.float32(),
    "float": pa.float32(),
    "double": pa.float64(),
    "varchar": pa.string(),
    "char": pa.string(),
    "string": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("ms"),
}


def arrow_type(column: Mapping[str, Any]) -> pa.DataType:
    name = str(column.get("Type", "varchar")).lower()
    if name == "decimal":
        return pa.decimal128(int(column.get("Precision", 38)), int(column.get("Scale", 0)))
    return _TYPES.get(name.split("(")[0], pa.string())


def result_schema(columns: Sequence[Mapping[str, Any]]) -> pa.Schema:
    return pa.schema([(str(c.get("Name") or c.get("Label")), arrow_type(c)) for c in columns])


def _array_of_numbers(values: list[str | None]) -> pa.Array | None:
    """`[1.0, 2.5]` texts as lists of doubles; None when some element is not a number."""
    lists: list[list[float] | None] = []
    for value in values:
        if value is None:
            lists.append(None)
            continue
        inner = value.strip()
        if not (inner.startswith("[") and inner.endswith("]")):
            return None
        items = [item.strip() for item in inner[1:-1].split(",") if item.strip()]
        try:
            lists.append([float(item) for item in items])
        except ValueError:
            return None
    return pa.array(lists, pa.list_(pa.float64()))


def _column(values: list[str | None], data_type: pa.DataType, athena_type: str = "") -> pa.Array:
    if athena_type == "array":
        numbers = _array_of_numbers(values)
        if numbers is not None:
            return numbers
    text = pa.array(values, pa.string())
    if data_type == pa.string():
        return text
    try:
        return text.cast(data_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # A value Arrow cannot read as that type (a timestamp with a zone, say): keep the text.
        return text


def rows_text(rows: Iterable[Mapping[str, Any]]) -> list[list[str | None]]:
    return [[cell.get("VarCharValue") for cell in row.get("Data", [])] for row in rows]


def to_table(columns: Sequence[Mapping[str, Any]], rows: list[list[str | None]]) -> pa.Table:
    schema = result_schema(columns)
    kinds = [str(c.get("Type", "")).lower().split("(")[0] for c in columns]
    arrays = [
        _column([row[i] if i < len(row) else None for row in rows], f.type, kinds[i]) for i, f in enumerate(schema)
    ]
    fields = [pa.field(f.name, a.type) for f, a in zip(schema, arrays, strict=True)]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def is_header(row: list[str | None], columns: Sequence[Mapping[str, Any]]) -> bool:
    """Athena repeats the column labels as the first row of a SELECT's first page."""
    return row == [c.get("Label") or c.get("Name") for c in columns]
