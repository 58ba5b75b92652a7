"""Arrow types -> Hive types, as Glue stores them for Athena to read Parquet with, and the
Trino types a view definition lists."""

from __future__ import annotations

import pyarrow as pa

_SIMPLE: dict[pa.DataType, str] = {
    pa.bool_(): "boolean",
    pa.int8(): "tinyint",
    pa.int16(): "smallint",
    pa.int32(): "int",
    pa.int64(): "bigint",
    # Hive has no unsigned integers: the next wider signed type holds every value.
    pa.uint8(): "smallint",
    pa.uint16(): "int",
    pa.uint32(): "bigint",
    pa.uint64(): "decimal(20,0)",
    pa.float16(): "float",
    pa.float32(): "float",
    pa.float64(): "double",
    pa.string(): "string",
    pa.large_string(): "string",
    pa.utf8(): "string",
    pa.binary(): "binary",
    pa.large_binary(): "binary",
    pa.date32(): "date",
    pa.date64(): "date",
    # A column of NULLs only (CAST(NULL ...) without a type) reads as text.
    pa.null(): "string",
}


def hive_type(data_type: pa.DataType) -> str:
    """The Hive DDL type for an Arrow type; TypeError for types Athena cannot read from Parquet."""
    if data_type in _SIMPLE:
        return _SIMPLE[data_type]
    if pa.types.is_dictionary(data_type):
        return hive_type(data_type.value_type)
    if pa.types.is_timestamp(data_type):
        return "timestamp"
    if pa.types.is_decimal(data_type):
        return f"decimal({data_type.precision},{data_type.scale})"
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        return f"array<{hive_type(data_type.value_type)}>"
    if pa.types.is_map(data_type):
        return f"map<{hive_type(data_type.key_type)},{hive_type(data_type.item_type)}>"
    if pa.types.is_struct(data_type):
        fields = ",".join(f"{f.name}:{hive_type(f.type)}" for f in data_type)
        return f"struct<{fields}>"
    raise TypeError(f"no Hive type for Arrow type {data_type}")


def hive_columns(schema: pa.Schema, exclude: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(name, Hive type) of each field, in order, leaving out `exclude` (partition keys)."""
    return [(f.name, hive_type(f.type)) for f in schema if f.name not in exclude]


_PRESTO: dict[pa.DataType, str] = {
    pa.bool_(): "boolean",
    pa.int8(): "tinyint",
    pa.int16(): "smallint",
    pa.int32(): "integer",
    pa.int64(): "bigint",
    pa.uint8(): "smallint",
    pa.uint16(): "integer",
    pa.uint32(): "bigint",
    pa.uint64(): "decimal(20,0)",
    pa.float16(): "real",
    pa.float32(): "real",
    pa.float64(): "double",
    pa.string(): "varchar",
    pa.large_string(): "varchar",
    pa.binary(): "varbinary",
    pa.large_binary(): "varbinary",
    pa.date32(): "date",
    pa.date64(): "date",
    pa.null(): "varchar",
}


def presto_type(data_type: pa.DataType) -> str:
    """The type Athena's engine (Trino) gives an Arrow type read from Parquet: what a view's
    definition in Glue lists for each of its columns."""
    if data_type in _PRESTO:
        return _PRESTO[data_type]
    if pa.types.is_dictionary(data_type):
        return presto_type(data_type.value_type)
    if pa.types.is_timestamp(data_type):
        return "timestamp(3)"
    if pa.types.is_decimal(data_type):
        return f"decimal({data_type.precision},{data_type.scale})"
    if pa.types.is_list(data_type) or pa.types.is_large_list(data_type):
        return f"array({presto_type(data_type.value_type)})"
    if pa.types.is_map(data_type):
        return f"map({presto_type(data_type.key_type)}, {presto_type(data_type.item_type)})"
    if pa.types.is_struct(data_type):
        return "row(" + ", ".join(f"{f.name} {presto_type(f.type)}" for f in data_type) + ")"
    raise TypeError(f"no Athena type for Arrow type {data_type}")
