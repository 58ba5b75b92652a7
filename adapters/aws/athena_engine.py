"""Athena as the SqlEngine: the pipeline's SELECTs run as written (they are Trino already).

Each table the engine reads or writes is a Glue table in the engine's database, named by
`working_table` from the TableRef's name AND location. The location is part of the name
because the layout gives the results of a run the published table's name with that run's
location: the engine must never replace the catalog's published table (publish does that,
after verification), so its own table for those results is a different one.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pyarrow as pa

from adapters.aws.athena_ctas import chunk_filter, ctas, insert, partition_chunks, quoted
from adapters.aws.athena_queries import AthenaQueries, Finished
from adapters.aws.glue_tables import GlueTables
from adapters.aws.glue_types import hive_columns
from adapters.aws.parquet_footer import parquet_schema
from adapters.aws.s3_lines_ingest import S3LinesIngest
from adapters.aws.s3_store import S3ObjectStore
from adapters.shared.lines import RAW_SCHEMA
from domain.errors import QueryError
from domain.identifiers import check_identifier
from domain.ports.sql_engine import IngestStats, QueryStats, SqlEngine, TableRef
from domain.spec import PLACEHOLDER
from domain.sql import string_literal, strip_statement

if TYPE_CHECKING:
    from mypy_boto3_athena import AthenaClient
    from mypy_boto3_s3 import S3Client


def working_table(ref: TableRef) -> str:
    digest = hashlib.sha256(ref.location.encode()).hexdigest()[:8]
    return f"{ref.name}__{digest}"


def staging_ref(target: TableRef) -> TableRef:
    """Where a partitioned target's rows wait before they are written 100 partitions at a time:
    beside the target's folder, never inside it (a reader of the target must not see them)."""
    parent, _, leaf = target.location.rstrip("/").rpartition("/")
    location = f"{parent}/_ctas_{leaf}/" if parent else f"_ctas_{leaf}/"
    return TableRef(name=f"{target.name}_ctas", location=location)


class AthenaSqlEngine(SqlEngine):
    def __init__(
        self,
        athena: AthenaClient,
        glue: GlueTables,
        s3: S3Client,
        store: S3ObjectStore,
        *,
        workgroup: str,
        output_location: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        parallel_inserts: int = 4,
        ingest_part_bytes: int | None = None,
    ) -> None:
        self.glue, self.s3, self.store = glue, s3, store
        self.queries = AthenaQueries(
            athena, workgroup=workgroup, database=glue.database, output_location=output_location, sleep=sleep
        )
        self.parallel_inserts = parallel_inserts
        self.ingest = S3LinesIngest(s3, store, ingest_part_bytes) if ingest_part_bytes else S3LinesIngest(s3, store)

    # -- tables --------------------------------------------------------------------------------
    def table_sql(self, ref: TableRef) -> str:
        return quoted(self.glue.database, working_table(ref))

    def _clear(self, ref: TableRef) -> None:
        """CTAS writes only to an empty location, and only under a table name not yet taken."""
        self.glue.delete(working_table(ref))
        self.store.delete_prefix(ref.location)

    def _register(self, ref: TableRef, sql_name: str) -> None:
        """Make `ref` readable: a Glue table for data the engine did not write itself (the
        prediction tasks' files), and every partition folder present in S3 registered."""
        name = working_table(ref)
        partition = ref.partitioned_by
        table = self.glue.get(name)
        if table is not None and not partition:
            return
        # Not by suffix: Athena names the files it writes without an extension.
        objects = [o for o in self.store.list(ref.location) if not o.key.rsplit("/", 1)[-1].startswith(("_", "."))]
        if table is None:
            where = self.store.uri(ref.location)
            if not objects:
                raise QueryError(f"no table at {where} (no Parquet files there)", sql_name=sql_name)
            first = objects[0]
            try:
                schema = parquet_schema(self.s3, self.store.bucket, self.store.full_key(first.key), first.size)
            except ValueError as exc:
                raise QueryError(f"cannot register {where}: {exc}", sql_name=sql_name) from exc
            keys = [(partition, "string")] if partition else []
            exclude = (partition,) if partition else ()
            self.glue.create(self.glue.table_input(name, hive_columns(schema, exclude), ref.location, keys))
            table = self.glue.get(name)
        if partition and table is not None:
            mark = f"{partition}="
            found = {part[len(mark) :] for o in objects for part in o.key.split("/") if part.startswith(mark)}
            missing = found - self.glue.partition_values(name)
            self.glue.add_partitions(name, partition, missing, self.glue.columns(name), ref.location)

    def _bind(self, sql: str, inputs: Mapping[str, TableRef], sql_name: str) -> str:
        used = set(PLACEHOLDER.findall(sql))
        unknown = used - set(inputs)
        if unknown:
            raise QueryError(f"unknown table placeholder(s) {sorted(unknown)}", sql_name=sql_name)
        for name in sorted(used):
            self._register(inputs[name], sql_name)
        return PLACEHOLDER.sub(lambda m: self.table_sql(inputs[m.group(1)]), strip_statement(sql))

    # -- SqlEngine -----------------------------------------------------------------------------
    def ingest_lines(self, source: str, target: TableRef) -> IngestStats:
        stats = self.ingest.ingest(source, target.location)
        self.glue.replace(self.glue.table_input(working_table(target), hive_columns(RAW_SCHEMA), target.location))
        return stats

    def source_fingerprint(self, source: str) -> str:
        return self.ingest.fingerprint(source)

    def materialize(
        self,
        target: TableRef,
        sql: str,
        inputs: Mapping[str, TableRef],
        *,
        sql_name: str,
        valid_json: Collection[str] = (),
    ) -> QueryStats:
        # valid_json needs nothing here: Trino's JSON functions give NULL for text that is not
        # JSON, there is no separate check to skip.
        started = time.perf_counter()
        select = self._bind(sql, inputs, sql_name)
        self._clear(target)
        if target.partitioned_by:
            rows, scanned = self._partitioned(target, select, sql_name)
        else:
            finished = self._ctas(target, select, None, sql_name)
            rows, scanned = self.queries.update_count(finished.execution_id, sql_name=sql_name), finished.bytes_scanned
        return QueryStats(rows=rows, bytes_scanned=scanned, seconds=time.perf_counter() - started)

    def _partitioned(self, target: TableRef, select: str, sql_name: str) -> tuple[int | None, int]:
        """Athena writes at most 100 partitions per statement. The SELECT runs ONCE, into an
        unpartitioned staging table (so window functions such as the batch numbering are
        computed once, not once per chunk); then a CTAS takes the first 100 partition values
        from it and INSERT INTOs add the rest, 100 values each, a few at a time."""
        column = check_identifier(target.partitioned_by or "", "partition column")
        stage = staging_ref(target)
        self._clear(stage)
        try:
            staged = self._ctas(stage, select, None, sql_name)
            rows = self.queries.update_count(staged.execution_id, sql_name=sql_name)
            values = self._select(
                f"SELECT DISTINCT CAST({quoted(column)} AS varchar) AS v FROM {self.table_sql(stage)}", sql_name
            )
            chunks = partition_chunks(values.column(0).to_pylist() if values.num_columns else [])
            source = f"SELECT {self._partition_last(stage, column)} FROM {self.table_sql(stage)} WHERE "
            first = self._ctas(target, source + chunk_filter(column, chunks[0]), column, sql_name)
            scanned = staged.bytes_scanned + first.bytes_scanned
            statements = [insert(self.table_sql(target), source + chunk_filter(column, c)) for c in chunks[1:]]
            with ThreadPoolExecutor(max_workers=self.parallel_inserts, thread_name_prefix="athena-insert") as pool:
                finished = list(pool.map(lambda s: self.queries.run(s, sql_name=sql_name), statements))
            scanned += sum(f.bytes_scanned for f in finished)
        finally:
            self._clear(stage)
        return rows, scanned

    def _partition_last(self, stage: TableRef, column: str) -> str:
        """The staged columns with the partition column last, as Athena's CTAS requires."""
        names = [name for name, _ in self.glue.columns(working_table(stage))]
        if column not in names:
            return "*"  # no column list to go by: the SELECT put it last itself, or Athena says so
        return ", ".join(quoted(n) for n in [*(n for n in names if n != column), column])

    def _ctas(self, target: TableRef, select: str, partitioned_by: str | None, sql_name: str) -> Finished:
        statement = ctas(self.table_sql(target), self.glue.uri(target.location), select, partitioned_by)
        return self.queries.run(statement, sql_name=sql_name)

    def _select(self, sql: str, sql_name: str) -> pa.Table:
        finished = self.queries.run(sql, sql_name=sql_name)
        return self.queries.results(finished.execution_id, sql_name=sql_name)

    def forget(self, table: TableRef) -> bool:
        # Glue deletes a table's partitions with it.
        return self.glue.delete(working_table(table))

    def query(self, sql: str, inputs: Mapping[str, TableRef], *, sql_name: str) -> pa.Table:
        return self._select(self._bind(sql, inputs, sql_name), sql_name)

    def sample(
        self, sql: str, inputs: Mapping[str, TableRef], *, rows: int, key: str, seed: int, sql_name: str
    ) -> pa.Table:
        column = quoted(check_identifier(key, "sample key"))
        # A seeded hash of the key orders the rows the same way on every run, whatever the
        # number of workers Athena uses; the key breaks the (unlikely) ties.
        sampled = (
            f"SELECT * FROM ({self._bind(sql, inputs, sql_name)}) AS population "
            f"ORDER BY xxhash64(to_utf8(CAST({column} AS varchar) || {string_literal(str(seed))})), {column} "
            f"LIMIT {int(rows)}"
        )
        return self._select(sampled, sql_name)
