"""DuckDB over a data lake in S3: the engine of hybrid runs (local orchestration, S3 storage).

DuckDB reaches S3 through its httpfs extension, which is downloaded at run time and cannot
be here; pyarrow's own S3 filesystem (in the pyarrow wheel) can. So tables are read as Arrow
datasets that DuckDB scans (with projection and filter pushdown), and results stream from
DuckDB to Parquet objects through the same filesystem. Only the storage hooks differ from
the local engine.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from adapters.local.duckdb_engine import DuckDBSqlEngine, PartWriter
from adapters.local.line_items import EMPTY_LINES_SQL, RECORD_SUFFIX, LineItem, items_of, part_name, record_name
from adapters.shared.keys import check_key, split_s3_uri
from adapters.shared.lines import RAW_SCHEMA, iter_line_batches
from adapters.shared.source_files import SourceFile, readable
from domain.errors import DataQualityError, QueryError
from domain.ports.sql_engine import IngestItem, TableRef

BATCH_ROWS = 256_000


def s3_sources(fs: pafs.FileSystem, source: str) -> list[SourceFile]:
    """An s3:// object, or every JSON-lines object under an s3:// prefix, sorted by key."""
    bucket, key = split_s3_uri(source)
    base = f"{bucket}/{key}".rstrip("/")
    single = fs.get_file_info(base)
    if single.is_file:
        infos = [single]
    else:
        found = fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
        files = {i.path: i for i in sorted((i for i in found if i.is_file), key=lambda i: i.path)}
        infos = [files[path] for path in readable(source, files)]
    if not infos:
        raise DataQualityError(f"source {source} holds no JSON-lines objects")

    def opener(path: str) -> Callable[[], BinaryIO]:
        # compression=None: the line reader decompresses .gz itself, reporting a cut-short file.
        return lambda: fs.open_input_stream(path, compression=None)

    return [SourceFile(f"s3://{i.path}", i.size or 0, str(i.mtime_ns), opener(i.path)) for i in infos]


class DuckDBOnS3SqlEngine(DuckDBSqlEngine):
    def __init__(
        self,
        fs: pafs.FileSystem,
        bucket: str,
        prefix: str = "",
        threads: int | None = None,
        memory_limit: str | None = None,
    ) -> None:
        super().__init__(root=None, threads=threads, memory_limit=memory_limit)  # type: ignore[arg-type]
        self.fs, self.bucket, self.prefix = fs, bucket, prefix.strip("/")

    def _spill_folder(self) -> str | None:
        return None  # the lake is remote; DuckDB's default (no spilling) applies

    def _folders(self, tables: Iterable[TableRef]) -> list[Path]:
        return []  # tables are Arrow datasets over S3: DuckDB itself touches no local file

    def _path(self, location: str) -> str:
        key = check_key(location.rstrip("/"))
        return "/".join(part for part in (self.bucket, self.prefix, key) if part)

    def _files(self, path: str) -> list[pafs.FileInfo]:
        infos = self.fs.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True))
        return sorted((i for i in infos if i.is_file), key=lambda i: i.path)

    # -- storage hooks: S3 through pyarrow ------------------------------------------------------
    def _bind(self, conn: duckdb.DuckDBPyConnection, view: str, table: TableRef) -> None:
        if not table.partitioned_by and any(
            i.path.endswith(RECORD_SUFFIX) for i in self._files(self._path(table.location))
        ):  # a raw table: its parts, not its items' records
            self._bind_lines(conn, view, self._line_items(table))
            return
        partitioning = "hive" if table.partitioned_by else None
        dataset = ds.dataset(
            self._path(table.location), filesystem=self.fs, format="parquet", partitioning=partitioning
        )
        conn.register(view, dataset)

    def _bind_lines(self, conn: duckdb.DuckDBPyConnection, view: str, items: Sequence[LineItem]) -> None:
        """The items' raw parts as one dataset (every item of this engine is copied to S3)."""
        parts = [item.part for item in items if item.part is not None]
        if not parts:
            conn.execute(f'CREATE TEMP VIEW "{view}" AS {EMPTY_LINES_SQL}')
            return
        conn.register(view, ds.dataset(parts, filesystem=self.fs, format="parquet"))

    def _line_items(self, table: TableRef) -> list[LineItem]:
        infos = self._files(self._path(table.location))
        records = {}
        for info in infos:
            if info.path.endswith(RECORD_SUFFIX):
                with self.fs.open_input_stream(info.path) as stream:
                    records[info.base_name] = stream.read()
        parts = {info.path: info.size or 0 for info in infos if info.path.endswith(".parquet")}
        return items_of(records, parts)

    def _item_paths(self, item: LineItem) -> tuple[list[Path], list[str]]:
        return [], []  # parts are Arrow datasets over S3: DuckDB itself touches no local file

    def _in_place_files(self, tables: Iterable[TableRef]) -> list[str]:
        return []  # every item is a raw part in S3

    @contextlib.contextmanager
    def _parts(self, target: TableRef) -> Iterator[PartWriter]:
        """S3 has no rename: the location is cleared, then each part streams to its object (a
        failed write leaves a partial table that the stage's retry replaces)."""
        path = self._path(target.location)
        self.fs.delete_dir_contents(path, missing_dir_ok=True)

        def write(conn: duckdb.DuckDBPyConnection, select: str, name: str, sql_name: str) -> int:
            return self._stream(conn, select, f"{path}/{name}", sql_name)

        yield write

    def _stream(self, conn: duckdb.DuckDBPyConnection, select: str, file_path: str, sql_name: str) -> int:
        rows = 0
        try:
            reader = conn.sql(select).to_arrow_reader(BATCH_ROWS)
            with pq.ParquetWriter(file_path, reader.schema, filesystem=self.fs, compression="snappy") as writer:
                for batch in reader:
                    writer.write_batch(batch)
                    rows += batch.num_rows
        except (duckdb.Error, pa.ArrowException) as exc:  # errors surface while the result streams
            raise QueryError(f"DuckDB: {exc}", sql_name=sql_name) from exc
        return rows

    def _input_bytes(self, tables: list[TableRef]) -> int:
        return sum(info.size or 0 for t in tables for info in self._files(self._path(t.location)))

    def _write(self, conn: duckdb.DuckDBPyConnection, select: str, target: TableRef, sql_name: str) -> int | None:
        path = self._path(target.location)
        # S3 has no rename: clear the location, then write (a failed write leaves a partial table
        # that the stage's retry replaces, as with Athena's CTAS).
        self.fs.delete_dir_contents(path, missing_dir_ok=True)
        if not target.partitioned_by:
            return self._stream(conn, select, f"{path}/{part_name(0)}", sql_name)
        counted = [0]

        def batches(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
            for batch in reader:
                counted[0] += batch.num_rows
                yield batch

        try:
            reader = conn.sql(select).to_arrow_reader(BATCH_ROWS)
            ds.write_dataset(
                pa.RecordBatchReader.from_batches(reader.schema, batches(reader)),
                path,
                filesystem=self.fs,
                format="parquet",
                partitioning=[target.partitioned_by],
                partitioning_flavor="hive",
                basename_template="part-{i}.parquet",
                existing_data_behavior="overwrite_or_ignore",
            )
        except (duckdb.Error, pa.ArrowException) as exc:  # errors surface while the result streams
            raise QueryError(f"DuckDB: {exc}", sql_name=sql_name) from exc
        return counted[0]

    def _sources(self, source: str) -> list[SourceFile]:
        return s3_sources(self.fs, source)

    def _ingest_item(self, item: IngestItem, target: TableRef) -> int:
        """An S3 object streamed through the line reader into its own raw part (a retried item
        overwrites its part: S3 objects appear whole or not at all), then its record."""
        folder = self._path(target.location)
        path = f"{folder}/{part_name(item.index)}"
        _, _, key = item.source_file.partition("://")
        lines = 0
        with (
            self.fs.open_input_stream(key, compression=None) as stream,
            pq.ParquetWriter(path, RAW_SCHEMA, filesystem=self.fs, compression="snappy") as writer,
        ):
            for batch in iter_line_batches(stream, item.source_file):
                writer.write_batch(batch)
                lines += batch.num_rows
        with self.fs.open_output_stream(f"{folder}/{record_name(item.index)}") as out:
            out.write(LineItem(item.index, item.source_file, lines, part=path).to_json())
        return lines
