"""Types across the three systems the emulator joins: DuckDB (where the SQL runs), Athena/Trino
(what GetQueryResults reports) and Hive (what Glue stores and Parquet is read as).

DuckDB's integer sums are HUGEINT where Trino's are bigint: they are reported, stored and written
as bigint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

import pyarrow as pa
from duckdb.sqltypes import DuckDBPyType

from tests.integration.aws.athena_emulation.errors import AthenaFailure, not_supported, user_error

_SIMPLE: dict[str, tuple[str, str, pa.DataType]] = {
    # DuckDB type id -> (Trino type, Hive type, Arrow type written to Parquet)
    "varchar": ("varchar", "string", pa.string()),
    "bigint": ("bigint", "bigint", pa.int64()),
    "hugeint": ("bigint", "bigint", pa.int64()),
    "integer": ("integer", "int", pa.int32()),
    "smallint": ("smallint", "smallint", pa.int16()),
    "tinyint": ("tinyint", "tinyint", pa.int8()),
    "double": ("double", "double", pa.float64()),
    "float": ("real", "float", pa.float32()),
    "boolean": ("boolean", "boolean", pa.bool_()),
    "date": ("date", "date", pa.date32()),
    "timestamp": ("timestamp", "timestamp", pa.timestamp("ms")),
    "timestamp_ms": ("timestamp", "timestamp", pa.timestamp("ms")),
    "timestamp_s": ("timestamp", "timestamp", pa.timestamp("ms")),
    "blob": ("varbinary", "binary", pa.binary()),
}


@dataclass(frozen=True)
class AthenaType:
    """One result column's type: `name` as ColumnInfo.Type gives it (`decimal`, `array`, ...)."""

    name: str
    hive: str | None  # None: Athena cannot store it in a Hive table (CTAS refuses the column)
    arrow: pa.DataType
    precision: int = 0
    scale: int = 0


def _children(t: DuckDBPyType) -> list[tuple[str, Any]]:
    return [(str(name), child) for name, child in cast(list[tuple[str, Any]], t.children)]


def athena_type(t: DuckDBPyType) -> AthenaType:
    if str(t) == "JSON":
        return AthenaType("json", None, pa.string())
    if t.id in _SIMPLE:
        name, hive, arrow = _SIMPLE[t.id]
        return AthenaType(name, hive, arrow, precision=2147483647 if name == "varchar" else 0)
    if t.id == "decimal":
        (_, precision), (_, scale) = _children(t)
        return AthenaType("decimal", f"decimal({precision},{scale})", pa.decimal128(precision, scale), precision, scale)
    if t.id == "list":
        item = athena_type(_children(t)[0][1])
        return AthenaType("array", f"array<{item.hive}>" if item.hive else None, pa.list_(item.arrow))
    if t.id == "struct":
        fields = [(n, athena_type(c)) for n, c in _children(t)]
        stored = None if any(f.hive is None for _, f in fields) else ",".join(f"{n}:{f.hive}" for n, f in fields)
        return AthenaType("row", f"struct<{stored}>" if stored else None, pa.struct([(n, f.arrow) for n, f in fields]))
    if t.id == "map":
        (_, key_type), (_, value_type) = _children(t)
        key, value = athena_type(key_type), athena_type(value_type)
        pair = f"{key.hive},{value.hive}" if key.hive and value.hive else None
        return AthenaType("map", f"map<{pair}>" if pair else None, pa.map_(key.arrow, value.arrow))
    if t.id == "timestamp with time zone":
        return AthenaType("timestamp with time zone", None, pa.timestamp("ms", tz="UTC"))
    if t.id == "null":
        return AthenaType("unknown", None, pa.null())
    return AthenaType(str(t).lower(), None, pa.string())


def storable(columns: list[tuple[str, AthenaType]]) -> None:
    """What Trino's Hive connector refuses when CTAS creates the table."""
    seen: set[str] = set()
    for position, (name, t) in enumerate(columns, start=1):
        if name in seen:
            raise user_error("DUPLICATE_COLUMN_NAME", f"Column name '{name}' specified more than once")
        seen.add(name)
        if t.name == "unknown":
            raise user_error("COLUMN_TYPE_UNKNOWN", f"Column type is unknown at position {position}")
        if t.hive is None:
            raise not_supported(f"Unsupported Hive type: {t.name}")


_HIVE_ARROW: dict[str, pa.DataType] = {
    "string": pa.string(),
    "varchar": pa.string(),
    "char": pa.string(),
    "bigint": pa.int64(),
    "int": pa.int32(),
    "integer": pa.int32(),
    "smallint": pa.int16(),
    "tinyint": pa.int8(),
    "double": pa.float64(),
    "float": pa.float32(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("ms"),
    "binary": pa.binary(),
}
_DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")


def hive_arrow(hive: str) -> pa.DataType | None:
    """The Arrow type a Glue column of this Hive type reads as; None for nested types (read as
    the file has them)."""
    base = hive.strip().lower()
    found = _DECIMAL.fullmatch(base)
    if found:
        return pa.decimal128(int(found.group(1)), int(found.group(2)))
    return _HIVE_ARROW.get(base.split("(")[0])


def read_as(column: pa.ChunkedArray, hive: str, name: str, uri: str) -> pa.ChunkedArray:
    """A file's column as the table declares it; Athena fails the query when the two disagree."""
    target = hive_arrow(hive)
    if target is None or column.type == target:
        return column
    source = column.type.value_type if pa.types.is_dictionary(column.type) else column.type
    if coercible(source, target):
        try:
            return column.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    raise AthenaFailure(
        f"HIVE_BAD_DATA: Field {name}'s type {column.type} in parquet file {uri} is incompatible with type "
        f"{hive} defined in table schema",
        error_type=1001,
    )


def coercible(source: pa.DataType, target: pa.DataType, *, insert: bool = False) -> bool:
    """The coercions Trino makes reading Parquet into a table's types (widening numbers, same-kind
    text, time units) and, with `insert`, the implicit ones an INSERT's values get (any exact number
    to a wider or inexact one). Text never becomes a number, nor the reverse."""
    exact = (pa.types.is_integer, pa.types.is_decimal)
    if insert and any(k(source) for k in exact) and (pa.types.is_floating(target) or pa.types.is_decimal(target)):
        return True
    same_kind = (
        (pa.types.is_decimal, pa.types.is_decimal),
        (pa.types.is_timestamp, pa.types.is_timestamp),
        (pa.types.is_date, pa.types.is_date),
        (lambda t: pa.types.is_string(t) or pa.types.is_large_string(t), pa.types.is_string),
        (lambda t: pa.types.is_binary(t) or pa.types.is_large_binary(t), pa.types.is_binary),
    )
    if pa.types.is_null(source):
        return True
    if pa.types.is_integer(source) and pa.types.is_integer(target):
        return bool(target.bit_width >= source.bit_width)
    if pa.types.is_floating(source) and pa.types.is_floating(target):
        return bool(target.bit_width >= source.bit_width)
    return any(is_source(source) and is_target(target) for is_source, is_target in same_kind)
