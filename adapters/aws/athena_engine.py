"""Athena as the SqlEngine: the pipeline's SELECTs run as written (they are Trino already).

Each table the engine reads or writes is a Glue table in the engine's database, named by
`working_table` from the TableRef's name AND location. The location is part of the name
because the layout gives the results of a run the published table's name with that run's
location: the engine must never replace the catalog's published table (publish does that,
after verification), so its own table for those results is a different one.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pyarrow as pa

from adapters.aws.athena_ctas import MAX_PARTITIONS_PER_STATEMENT, ctas, insert, quoted
from adapters.aws.athena_queries import AthenaQueries, Finished
from adapters.aws.glue_tables import GlueTables
from adapters.aws.glue_types import hive_columns
from adapters.aws.s3_lines_ingest import S3LinesIngest
from adapters.aws.s3_store import S3ObjectStore
from adapters.aws.statement_journal import StatementJournal
from adapters.shared.lines import RAW_SCHEMA
from domain.errors import QueryError
from domain.identifiers import check_identifier
from domain.layout import is_data_key
from domain.parquet_ranges import NotParquetError, footer_schema
from domain.ports.object_store import ObjectInfo
from domain.ports.sql_engine import IngestItem, QueryStats, SqlEngine, TableRef
from domain.spec import PLACEHOLDER
from domain.sql import string_literal, strip_statement

if TYPE_CHECKING:
    from mypy_boto3_athena import AthenaClient
    from mypy_boto3_s3 import S3Client


CHUNK = "batchml_chunk"  # the staging table's partition column: never a column of the pipeline's own


def working_table(ref: TableRef) -> str:
    digest = hashlib.sha256(ref.location.encode()).hexdigest()[:8]
    return f"{ref.name}__{digest}"


def parts_table(ref: TableRef) -> str:
    """The Glue table over a raw table's parts when the raw table itself is a view."""
    return working_table(ref).replace("__", "_parts__", 1)


def raw_offsets(items: Sequence[IngestItem], lines: Sequence[int]) -> dict[int, int]:
    """Item -> lines of its file's earlier ranges, for the ranges that do not start a file."""
    offsets: dict[int, int] = {}
    seen: dict[str, int] = {}
    for item, count in sorted(zip(items, lines, strict=True), key=lambda pair: (pair[0].source_file, pair[0].start)):
        before = seen.get(item.source_file, 0)
        if item.start > 0 and before:
            offsets[item.index] = before
        seen[item.source_file] = before + count
    return offsets


def raw_view_sql(view: str, parts: str, offsets: dict[int, int]) -> str:
    cases = " ".join(f"WHEN {item} THEN {offset}" for item, offset in sorted(offsets.items()))
    item = "CAST(regexp_extract(\"$path\", 'part-([0-9]+)-[0-9]+\\.parquet$', 1) AS integer)"
    return (
        f"CREATE OR REPLACE VIEW {view} AS SELECT source_file, line_number + CASE {item} {cases} ELSE 0 END "
        f"AS line_number, line, problem FROM {parts}"
    )


def staging_ref(target: TableRef) -> TableRef:
    """Where a partitioned target's rows wait, in chunks, before they are copied 100 partitions
    at a time: inside the target's folder, so that removing the target removes them too, under a
    name no reader of the target sees (its readers read its partition folders only)."""
    return TableRef(name=f"{target.name}_ctas", location=f"{target.location}_ctas/")


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
        encryption: Mapping[str, str] | None = None,
        journal_prefix: str | None = None,
        wait_seconds: float | None = None,
    ) -> None:
        self.glue, self.store = glue, store
        # A Lambda stage waits `wait_seconds` at most and journals its statements to find them
        # again when invoked anew (statement_journal.py); the CLI waits for its queries to end.
        journal = StatementJournal(store, journal_prefix) if journal_prefix else None
        self.queries = AthenaQueries(
            athena,
            workgroup=workgroup,
            database=glue.database,
            output_location=output_location,
            sleep=sleep,
            encryption=encryption,
            journal=journal,
            wait_seconds=wait_seconds,
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
        objects = [o for o in self.store.list(ref.location) if is_data_key(o.key)]
        if table is None:
            schema = self._file_schema(ref, objects, sql_name)
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
    def plan_ingest(self, source: str, max_item_bytes: int) -> list[IngestItem]:
        return self.ingest.plan(source, max_item_bytes)

    def ingest_items(self, items: Sequence[IngestItem], target: TableRef) -> list[int]:
        return [self.ingest.ingest(item, target.location) for item in items]

    def finish_ingest(self, items: Sequence[IngestItem], lines: Sequence[int], target: TableRef) -> None:
        """Register the raw table. Items of a file cut into ranges numbered their lines from 1:
        then the table is a view over the parts that adds each range's offset (the lines of the
        file's earlier ranges), found from the part's item number in its name."""
        columns = hive_columns(RAW_SCHEMA)
        offsets = raw_offsets(items, lines)
        name = working_table(target)
        if not offsets:
            self.glue.replace(self.glue.table_input(name, columns, target.location))
            return
        parts = parts_table(target)
        self.glue.replace(self.glue.table_input(parts, columns, target.location))
        # The stage may run this again after the view exists (a Lambda invoked anew): the old
        # table goes only when the view's statement really starts (a table of the name blocks it).

        def drop_table() -> None:
            self.glue.delete(name)

        self.queries.run(
            raw_view_sql(quoted(self.glue.database, name), quoted(self.glue.database, parts), offsets),
            sql_name="staging ingest",
            before_start=drop_table,
        )

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
        if target.partitioned_by:
            rows, scanned = self._partitioned(target, select, sql_name)
        else:
            finished = self._ctas(target, select, None, sql_name, clear=(target,))
            rows, scanned = self.queries.update_count(finished.execution_id, sql_name=sql_name), finished.bytes_scanned
        return QueryStats(rows=rows, bytes_scanned=scanned, seconds=time.perf_counter() - started)

    def materialize_lines(
        self,
        target: TableRef,
        sql: str,
        inputs: Mapping[str, TableRef],
        *,
        lines: str,
        sql_name: str,
        valid_json: Collection[str] = (),
        files: Collection[str] | None = None,
        positions: str | None = None,
    ) -> QueryStats:
        """One CTAS over the whole raw table: Athena spreads it over its own workers, and its
        raw table is a copy in S3 (a Lambda per item wrote it), so there is no file to skip, and
        no line either (`positions` is for engines that can read single lines; Athena scans and
        bills the raw table's bytes whatever the statement joins it to)."""
        return self.materialize(target, sql, inputs, sql_name=sql_name, valid_json=valid_json)

    def _partitioned(self, target: TableRef, select: str, sql_name: str) -> tuple[int | None, int]:
        """Athena writes at most 100 partitions per statement
        (https://docs.aws.amazon.com/athena/latest/ug/ctas-insert-into.html). The SELECT runs
        ONCE, into a staging table partitioned by chunk (a chunk: 100 consecutive partition
        values, which are whole numbers: the batches); then one INSERT INTO per chunk copies it
        into the target, reading only its own chunk's partition. So the input is read once and
        the staged rows once in all, however many partitions there are (an INSERT per 100
        partitions over an unpartitioned staging table read all of it each time)."""
        column = check_identifier(target.partitioned_by or "", "partition column")
        stage = staging_ref(target)
        chunk = f"CAST(floor(CAST({quoted(column)} AS double) / {MAX_PARTITIONS_PER_STATEMENT}) AS bigint)"
        chunked = f"SELECT *, {chunk} AS {CHUNK} FROM ({select}) AS rows"
        # Clearing the target clears the staging folder inside it; the stage's table goes too.
        staged = self._ctas(stage, chunked, CHUNK, sql_name, clear=(target, stage))
        chunks = sorted(self.glue.partition_values(working_table(stage)), key=int)
        if len(chunks) > MAX_PARTITIONS_PER_STATEMENT:
            raise QueryError(
                f"{len(chunks) * MAX_PARTITIONS_PER_STATEMENT} partitions or more: at most "
                f"{MAX_PARTITIONS_PER_STATEMENT**2} can be written in chunks of {MAX_PARTITIONS_PER_STATEMENT}",
                sql_name=sql_name,
            )
        names = [name for name, _ in self.glue.columns(working_table(stage)) if name != column]
        columns = [(n, t) for n, t in self.glue.columns(working_table(stage)) if n != column]
        self.glue.replace(self.glue.table_input(working_table(target), columns, target.location, [(column, "string")]))
        source = f"SELECT {', '.join(quoted(n) for n in [*names, column])} FROM {self.table_sql(stage)}"

        def copy(chunk: str) -> Finished:
            def clear_chunk() -> None:  # a failed INSERT may have written part of its partitions
                self._delete_partitions(target, column, int(chunk))

            statement = insert(self.table_sql(target), f"{source} WHERE {CHUNK} = {int(chunk)}")
            return self.queries.run(statement, sql_name=sql_name, before_retry=clear_chunk)

        with ThreadPoolExecutor(max_workers=self.parallel_inserts, thread_name_prefix="athena-insert") as pool:
            finished = list(pool.map(copy, chunks))
        counts = [self.queries.update_count(f.execution_id, sql_name=sql_name) for f in finished]
        # The staging table stays (inside the target's folder, read by no reader of the target):
        # a stage invoked again after this returned must find it; it goes with the target.
        rows = None if any(c is None for c in counts) else sum(c or 0 for c in counts)
        return rows, staged.bytes_scanned + sum(f.bytes_scanned for f in finished)

    def _delete_partitions(self, target: TableRef, column: str, chunk: int) -> None:
        mark = f"{column}="
        for obj in self.store.list(target.location):
            for part in obj.key.split("/"):
                value = part[len(mark) :] if part.startswith(mark) else ""
                if value.isdigit() and int(value) // MAX_PARTITIONS_PER_STATEMENT == chunk:
                    self.store.delete(obj.key)

    def _ctas(
        self, target: TableRef, select: str, partitioned_by: str | None, sql_name: str, *, clear: Sequence[TableRef]
    ) -> Finished:
        statement = ctas(self.table_sql(target), self.glue.uri(target.location), select, partitioned_by)

        def clear_all() -> None:
            for ref in clear:
                self._clear(ref)

        return self.queries.run(statement, sql_name=sql_name, before_start=clear_all)

    def _select(self, sql: str, sql_name: str) -> pa.Table:
        finished = self.queries.run(sql, sql_name=sql_name)
        return self.queries.results(finished.execution_id, sql_name=sql_name)

    def cancel_running(self) -> int:
        return self.queries.stop_unfinished()

    def forget(self, table: TableRef) -> bool:
        # Glue deletes a table's partitions with it; a raw view's parts table goes with the view,
        # a partitioned table's staging table with the table.
        helpers = [self.glue.delete(parts_table(table))]
        if table.partitioned_by:
            helpers.append(self.glue.delete(working_table(staging_ref(table))))
        return self.glue.delete(working_table(table)) or any(helpers)

    def table_schema(self, table: TableRef) -> pa.Schema:
        """From the footer of one of the table's files: Athena's query results name an array's
        or a row's type without its elements, and a Glue table or view declaring `string` for
        such a column cannot read it."""
        objects = [o for o in self.store.list(table.location) if is_data_key(o.key)]
        schema = self._file_schema(table, objects, "schema")
        return schema.append(pa.field(table.partitioned_by, pa.string())) if table.partitioned_by else schema

    def _file_schema(self, ref: TableRef, objects: Sequence[ObjectInfo], sql_name: str) -> pa.Schema:
        where = self.store.uri(ref.location)
        if not objects:
            raise QueryError(f"no table at {where} (no Parquet files there)", sql_name=sql_name)
        first = objects[0]
        try:
            # The footer alone, in one or two ranged GETs (domain/parquet_ranges.py).
            fetch = functools.partial(self.store.get_range, first.key)
            return footer_schema(fetch, first.size, self.store.uri(first.key))
        except NotParquetError as exc:
            raise QueryError(f"cannot register {where}: {exc}", sql_name=sql_name) from exc

    def query(self, sql: str, inputs: Mapping[str, TableRef], *, sql_name: str) -> pa.Table:
        return self._select(self._bind(sql, inputs, sql_name), sql_name)

    def sample(
        self,
        sql: str,
        inputs: Mapping[str, TableRef],
        *,
        rows: int,
        key: str,
        seed: int,
        sql_name: str,
        population: int | None = None,
    ) -> pa.Table:
        # One ORDER BY ... LIMIT: it counts nothing first, so `population` is not needed here.
        column = quoted(check_identifier(key, "sample key"))
        # A seeded hash of the key orders the rows the same way on every run, whatever the
        # number of workers Athena uses; the key breaks the (unlikely) ties.
        sampled = (
            f"SELECT * FROM ({self._bind(sql, inputs, sql_name)}) AS population "
            f"ORDER BY xxhash64(to_utf8(CAST({column} AS varchar) || {string_literal(str(seed))})), {column} "
            f"LIMIT {int(rows)}"
        )
        return self._select(sampled, sql_name)
