"""What CTAS and INSERT INTO write: Parquet objects under the table's location (Hive partition
folders for its partition keys) and the table and partitions in Glue, as Athena does.

Athena's rules enforced here: at most 100 partitions written per statement, the partition keys
last in the SELECT and in `partitioned_by` order, a CTAS location that is empty, an INSERT whose
columns match the table's. A statement that breaks one writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from tests.integration.aws.athena_emulation import errors
from tests.integration.aws.athena_emulation.lake import (
    HIVE_DEFAULT_PARTITION,
    PARQUET_INPUT,
    PARQUET_OUTPUT,
    PARQUET_SERDE,
    Lake,
    partition_uri,
)
from tests.integration.aws.athena_emulation.limits import MAX_PARTITIONS_PER_CTAS, MAX_PARTITIONS_PER_INSERT
from tests.integration.aws.athena_emulation.results import text
from tests.integration.aws.athena_emulation.statements import Name
from tests.integration.aws.athena_emulation.types import AthenaType, coercible, hive_arrow, storable


@dataclass(frozen=True)
class Rows:
    """A statement's result: named, typed columns."""

    table: pa.Table
    names: list[str]
    types: list[AthenaType]


def _split(rows: Rows, keys: Sequence[str], most: int) -> dict[tuple[str, ...], pa.Table]:
    """The rows of each partition (values as folder text), without the key columns."""
    if not keys:
        return {(): rows.table} if rows.table.num_rows else {}
    positions = [rows.names.index(k) for k in keys]
    rendered = [
        [HIVE_DEFAULT_PARTITION if v is None else text(v, rows.types[p]) for v in rows.table.column(p).to_pylist()]
        for p in positions
    ]
    groups: dict[tuple[str, ...], list[int]] = {}
    for r in range(rows.table.num_rows):
        groups.setdefault(tuple(col[r] for col in rendered), []).append(r)
    if len(groups) > most:
        raise errors.too_many_partitions()
    data = rows.table.drop_columns([rows.names[p] for p in positions])
    return {values: data.take(pa.array(indices)) for values, indices in groups.items()}


def _write(lake: Lake, location: str, keys: Sequence[str], parts: dict[tuple[str, ...], pa.Table], stem: str) -> None:
    for values, part in parts.items():
        lake.put_parquet(partition_uri(location, keys, values) if keys else location, part, stem)


def create_table_as(lake: Lake, target: Name, location: str, rows: Rows, keys: list[str], stem: str) -> int:
    """CTAS: returns the rows written (Athena's UpdateCount)."""
    columns = list(zip(rows.names, rows.types, strict=True))
    storable(columns)
    if keys and rows.names[-len(keys) :] != keys:
        raise errors.user_error(
            "HIVE_COLUMN_ORDER_MISMATCH",
            f"Partition keys must be the last columns in the table and in the same order as the table "
            f"properties: {keys}",
        )
    if not lake.is_empty(location):
        raise errors.path_already_exists(str(target), location)
    # Athena stores text columns as `string`, and writes each column as the Parquet type of that Hive type.
    stored = Rows(rows.table.cast(pa.schema([(n, t.arrow) for n, t in columns])), rows.names, rows.types)
    parts = _split(stored, keys, MAX_PARTITIONS_PER_CTAS)
    _write(lake, location, keys, parts, stem)
    table_input = {
        "Name": target.table,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"EXTERNAL": "TRUE", "has_encrypted_data": "false", "parquet.compression": "SNAPPY"},
        "StorageDescriptor": {
            "Columns": [{"Name": n, "Type": t.hive} for n, t in columns if n not in keys],
            "Location": location,
            "InputFormat": PARQUET_INPUT,
            "OutputFormat": PARQUET_OUTPUT,
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE, "Parameters": {"serialization.format": "1"}},
        },
        "PartitionKeys": [{"Name": n, "Type": t.hive} for n, t in columns if n in keys],
    }
    lake.create_table(target, table_input)
    if keys:
        created = lake.table(target)
        assert created is not None
        lake.add_partitions(target, created, list(parts))
    return int(rows.table.num_rows)


def insert_into(lake: Lake, target: Name, table: dict[str, Any], rows: Rows, stem: str) -> int:
    """INSERT INTO: the SELECT's columns fill the table's by position; new partitions are registered."""
    if table.get("TableType") == "VIRTUAL_VIEW":
        raise errors.not_supported(f"Inserting into views is not supported: {target}")
    keys = [c["Name"].lower() for c in table.get("PartitionKeys", [])]
    declared = [(c["Name"].lower(), c["Type"]) for c in table["StorageDescriptor"].get("Columns", [])]
    declared += [(c["Name"].lower(), c["Type"]) for c in table.get("PartitionKeys", [])]
    targets = [hive_arrow(h) for _, h in declared]
    if len(declared) != len(rows.names) or not all(
        t is None or coercible(rows.table.column(i).type, t, insert=True) for i, t in enumerate(targets)
    ):
        raise errors.user_error(
            "TYPE_MISMATCH",
            f"Insert query has mismatched column types: Table: [{', '.join(h for _, h in declared)}], "
            f"Query: [{', '.join(t.name for t in rows.types)}]",
        )
    arrays = [rows.table.column(i) if t is None else rows.table.column(i).cast(t) for i, t in enumerate(targets)]
    cast = Rows(pa.table(arrays, names=[n for n, _ in declared]), [n for n, _ in declared], rows.types)
    parts = _split(cast, keys, MAX_PARTITIONS_PER_INSERT)
    _write(lake, table["StorageDescriptor"]["Location"], keys, parts, stem)
    if keys:
        lake.add_partitions(target, table, list(parts))
    return int(rows.table.num_rows)
