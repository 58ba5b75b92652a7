"""The data Athena reads and writes: Parquet objects in (moto's) S3, tables and partitions in
(moto's) Glue. Nothing here knows SQL.

Reading follows Athena's rules for Hive tables: a partitioned table is the partitions registered in
Glue (a partition folder nobody registered is not read), an unpartitioned one is every object under
its location; names starting with `_` or `.` below the location are hidden
(https://docs.aws.amazon.com/athena/latest/ug/troubleshooting-athena.html, "Athena cannot read
hidden files"); columns are matched by name and read as the Glue types say.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from tests.integration.aws.athena_emulation.limits import GLUE_PARTITIONS_PER_BATCH_CREATE
from tests.integration.aws.athena_emulation.statements import Name
from tests.integration.aws.athena_emulation.types import hive_arrow, read_as

if TYPE_CHECKING:
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_s3 import S3Client

HIVE_DEFAULT_PARTITION = "__HIVE_DEFAULT_PARTITION__"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


# Athena's hidden column: the object a row was read from (https://docs.aws.amazon.com/athena/latest/ug/select.html).
PATH = "$path"


def split_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// location: {uri}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def folder(uri: str) -> str:
    return uri if uri.endswith("/") else uri + "/"


@dataclass(frozen=True)
class DataFile:
    uri: str
    size: int
    partition: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class TableFiles:
    """A Glue table and the objects a query of it reads."""

    table: Mapping[str, Any]
    files: Sequence[DataFile]

    @property
    def columns(self) -> list[tuple[str, str]]:
        return [(c["Name"].lower(), c["Type"]) for c in self.table["StorageDescriptor"].get("Columns", [])]

    @property
    def partition_keys(self) -> list[tuple[str, str]]:
        return [(c["Name"].lower(), c["Type"]) for c in self.table.get("PartitionKeys", [])]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


class Lake:
    def __init__(self, s3: S3Client, glue: GlueClient) -> None:
        self.s3, self.glue = s3, glue

    # -- catalog -------------------------------------------------------------------------------
    def table(self, name: Name) -> dict[str, Any] | None:
        try:
            return dict(self.glue.get_table(DatabaseName=name.database, Name=name.table)["Table"])
        except self.glue.exceptions.EntityNotFoundException:
            return None

    def database_exists(self, database: str) -> bool:
        try:
            self.glue.get_database(Name=database)
        except self.glue.exceptions.EntityNotFoundException:
            return False
        return True

    def partitions(self, name: Name) -> Iterator[dict[str, Any]]:
        pages = self.glue.get_paginator("get_partitions").paginate(DatabaseName=name.database, TableName=name.table)
        for page in pages:
            yield from (dict(p) for p in page.get("Partitions", []))

    def create_table(self, name: Name, table_input: Mapping[str, Any]) -> None:
        self.glue.create_table(DatabaseName=name.database, TableInput=dict(table_input))  # type: ignore[arg-type]

    def delete_table(self, name: Name) -> None:
        self.glue.delete_table(DatabaseName=name.database, Name=name.table)

    def add_partitions(self, name: Name, table: Mapping[str, Any], values: Sequence[Sequence[str]]) -> None:
        """Register each partition (Hive folder under the table's location) that Glue lacks."""
        keys = [c["Name"] for c in table.get("PartitionKeys", [])]
        known = {tuple(p["Values"]) for p in self.partitions(name)}
        storage = dict(table["StorageDescriptor"])
        new = [list(v) for v in values if tuple(v) not in known]
        step = GLUE_PARTITIONS_PER_BATCH_CREATE
        for start in range(0, len(new), step):
            inputs: list[Any] = [
                {"Values": v, "StorageDescriptor": {**storage, "Location": partition_uri(storage["Location"], keys, v)}}
                for v in new[start : start + step]
            ]
            self.glue.batch_create_partition(
                DatabaseName=name.database, TableName=name.table, PartitionInputList=inputs
            )

    # -- objects -------------------------------------------------------------------------------
    def objects(self, uri: str) -> list[DataFile]:
        """Every visible object under `uri` (a folder), recursively."""
        bucket, prefix = split_uri(folder(uri))
        found = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                below = obj["Key"][len(prefix) :]
                if below and not any(part.startswith(("_", ".")) for part in below.split("/")):
                    found.append(DataFile(f"s3://{bucket}/{obj['Key']}", int(obj["Size"])))
        return found

    def is_empty(self, uri: str) -> bool:
        bucket, prefix = split_uri(folder(uri))
        return not self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("Contents")

    def files(self, name: Name, table: Mapping[str, Any]) -> TableFiles:
        keys = [c["Name"].lower() for c in table.get("PartitionKeys", [])]
        if not keys:
            return TableFiles(table, self.objects(table["StorageDescriptor"]["Location"]))
        files = []
        for partition in self.partitions(name):
            values = {
                k: (None if v == HIVE_DEFAULT_PARTITION else v) for k, v in zip(keys, partition["Values"], strict=True)
            }
            for f in self.objects(partition["StorageDescriptor"]["Location"]):
                files.append(DataFile(f.uri, f.size, values))
        return TableFiles(table, files)

    def load(self, table: TableFiles, *, with_path: bool = False) -> pa.Table:
        """The table's rows as Athena reads them: its Glue columns, then its partition keys; with
        `with_path`, Athena's hidden column "$path" too (each row's object, as an s3:// URI)."""
        declared = table.columns + table.partition_keys + ([(PATH, "string")] if with_path else [])
        parts = [self._read(table, f, with_path) for f in table.files]
        if not parts:
            return pa.table({n: pa.array([], hive_arrow(t) or pa.string()) for n, t in declared})
        return pa.concat_tables(parts, promote_options="permissive")

    def _read(self, table: TableFiles, data: DataFile, with_path: bool = False) -> pa.Table:
        bucket, key = split_uri(data.uri)
        body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        found = pq.read_table(io.BytesIO(body))
        by_name = {n.lower(): i for i, n in enumerate(found.column_names)}
        columns: dict[str, pa.ChunkedArray] = {}
        for name, hive in table.columns:
            if name in by_name:
                columns[name] = read_as(found.column(by_name[name]), hive, name, data.uri)
            else:  # a column the file lacks reads as NULL
                columns[name] = pa.chunked_array([pa.nulls(found.num_rows, hive_arrow(hive) or pa.string())])
        for name, hive in table.partition_keys:
            # Glue holds partition values as text; the key's type says how to read them.
            text = pa.array([data.partition.get(name)] * found.num_rows, pa.string())
            columns[name] = pa.chunked_array([text.cast(hive_arrow(hive) or pa.string())])
        if with_path:
            columns[PATH] = pa.chunked_array([pa.array([data.uri] * found.num_rows, pa.string())])
        return pa.table(columns)

    def put_parquet(self, folder_uri: str, rows: pa.Table, stem: str) -> None:
        """One Parquet object, SNAPPY, named as Athena names its files: no extension."""
        sink = io.BytesIO()
        pq.write_table(rows, sink, compression="snappy")
        bucket, prefix = split_uri(folder(folder_uri))
        self.s3.put_object(Bucket=bucket, Key=f"{prefix}{stem}_{uuid.uuid4()}", Body=sink.getvalue())


_HIVE_UNSAFE = set("\"#%'*/:=?\\\x7f{[]^")


def escape_path(value: str) -> str:
    """Hive's escaping of a partition value in a folder name (FileUtils.escapePathName)."""
    return "".join(f"%{ord(c):02X}" if c in _HIVE_UNSAFE or ord(c) < 0x20 else c for c in value)


def partition_uri(location: str, keys: Sequence[str], values: Sequence[str]) -> str:
    return folder(location) + "/".join(f"{k}={escape_path(v)}" for k, v in zip(keys, values, strict=True))
