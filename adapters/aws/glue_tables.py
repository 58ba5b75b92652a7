"""Glue tables over Parquet under the output root: what GlueCatalog and the Athena engine share.

Locations are keys under the root (`runs/RUN/staging/`); Glue stores them as s3:// URIs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from adapters.shared.keys import check_key, folder_prefix

if TYPE_CHECKING:
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_glue.type_defs import ColumnTypeDef, StorageDescriptorTypeDef, TableInputTypeDef, TableTypeDef

PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARTITION_BATCH = 100  # the most partitions one BatchCreatePartition call takes

Columns = Sequence[tuple[str, str]]


def _columns(columns: Columns) -> list[ColumnTypeDef]:
    return [{"Name": name, "Type": hive} for name, hive in columns]


class GlueTables:
    def __init__(self, client: GlueClient, database: str, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.database = database
        self.bucket = bucket
        self.prefix = folder_prefix(prefix)
        self._database_checked = False

    # -- locations ------------------------------------------------------------------------------
    def uri(self, location: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{check_key(location)}"

    def key_of(self, uri: str) -> str:
        """The key under the root for a Glue location; the URI itself if it lies elsewhere."""
        root = f"s3://{self.bucket}/{self.prefix}"
        return uri[len(root) :] if uri.startswith(root) else uri

    # -- tables --------------------------------------------------------------------------------
    def ensure_database(self) -> None:
        if self._database_checked:
            return
        with contextlib.suppress(self.client.exceptions.AlreadyExistsException):
            self.client.create_database(DatabaseInput={"Name": self.database})
        self._database_checked = True

    def storage(self, columns: Columns, location: str) -> StorageDescriptorTypeDef:
        return {
            "Columns": _columns(columns),
            "Location": self.uri(location),
            "InputFormat": PARQUET_INPUT,
            "OutputFormat": PARQUET_OUTPUT,
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE, "Parameters": {"serialization.format": "1"}},
        }

    def table_input(
        self, name: str, columns: Columns, location: str, partition_keys: Columns = ()
    ) -> TableInputTypeDef:
        return {
            "Name": name,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
            "StorageDescriptor": self.storage(columns, location),
            "PartitionKeys": _columns(partition_keys),
        }

    def get(self, name: str) -> TableTypeDef | None:
        try:
            return self.client.get_table(DatabaseName=self.database, Name=name)["Table"]
        except self.client.exceptions.EntityNotFoundException:
            return None

    def columns(self, name: str) -> list[tuple[str, str]]:
        """(name, Hive type) of the table's data columns; [] when there is no such table."""
        table = self.get(name)
        columns = table.get("StorageDescriptor", {}).get("Columns", []) if table else []
        return [(c["Name"], c.get("Type", "string")) for c in columns]

    def create(self, table: TableInputTypeDef) -> bool:
        """True if created; False if a table of that name exists already (even if just created
        by a concurrent caller)."""
        self.ensure_database()
        try:
            self.client.create_table(DatabaseName=self.database, TableInput=table)
        except self.client.exceptions.AlreadyExistsException:
            return False
        return True

    def replace(self, table: TableInputTypeDef) -> None:
        """Columns and location change in one UpdateTable: readers see the old or the new table."""
        if self.create(table):
            return
        self.client.update_table(DatabaseName=self.database, TableInput=table)

    def names(self) -> list[str]:
        """Every table's name in the database."""
        pages = self.client.get_paginator("get_tables").paginate(DatabaseName=self.database)
        return [t["Name"] for page in pages for t in page.get("TableList", [])]

    def delete(self, name: str) -> bool:
        """Whether the table was there to delete."""
        try:
            self.client.delete_table(DatabaseName=self.database, Name=name)
        except self.client.exceptions.EntityNotFoundException:
            return False
        return True

    # -- partitions ----------------------------------------------------------------------------
    def partition_values(self, name: str) -> set[str]:
        pages = self.client.get_paginator("get_partitions").paginate(DatabaseName=self.database, TableName=name)
        return {p["Values"][0] for page in pages for p in page.get("Partitions", [])}

    def add_partitions(self, name: str, key: str, values: Iterable[str], columns: Columns, location: str) -> int:
        """Register `location/key=value/` for each value (one partition key); returns how many."""
        values = sorted(values)
        base = location if location.endswith("/") else location + "/"
        for start in range(0, len(values), PARTITION_BATCH):
            chunk = values[start : start + PARTITION_BATCH]
            result = self.client.batch_create_partition(
                DatabaseName=self.database,
                TableName=name,
                PartitionInputList=[
                    {"Values": [v], "StorageDescriptor": self.storage(columns, f"{base}{key}={v}/")} for v in chunk
                ],
            )
            # A partition registered meanwhile (by Athena, or a retried call) is what we wanted.
            details = [e.get("ErrorDetail", {}) for e in result.get("Errors", [])]
            failed = [d for d in details if d.get("ErrorCode") != "AlreadyExistsException"]
            if failed:
                raise OSError(
                    f"Glue refused partitions of {name}: {failed[0].get('ErrorCode')} {failed[0].get('ErrorMessage')}"
                )
        return len(values)
