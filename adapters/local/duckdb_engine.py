"""DuckDB as the SqlEngine: Athena-dialect SELECTs transpiled and run over local Parquet."""

from __future__ import annotations

import contextlib
import functools
import glob
import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from adapters.local.dialect import athena_to_duckdb
from adapters.local.duckdb_sandbox import confined_connection
from adapters.local.hidden_rows import (
    DOC_ID,
    EXCLUDED,
    HIDDEN,
    ITEM,
    ITEMS,
    LINE,
    PENDING,
    folder_select,
    lines_without_row,
)
from adapters.local.line_fetch import fetch_item, item_starts
from adapters.local.line_items import (
    EMPTY_LINES_SQL,
    RECORD_SUFFIX,
    LineItem,
    in_place_lines_sql,
    item_groups,
    part_name,
    quote,
)
from adapters.local.line_wise import maps_each_row
from adapters.local.local_lines import ingest_file, local_line_items
from adapters.local.paths import RETIRED_MARK, TEMP_MARK, resolve_key
from adapters.local.seeded_sample import seeded_sample
from adapters.local.typed_lines import TypedSelect, records_sql, typed_lines_sql, typed_select, with_hidden_columns
from adapters.shared.source_files import SourceFile, local_sources
from domain.errors import QueryError
from domain.ports.sql_engine import NO_ID, IngestItem, QueryStats, SqlEngine, TableRef
from domain.spec import PLACEHOLDER
from domain.sql import strip_statement

# Row groups cut by size, not only by rows: DuckDB's writer buffers a whole row group per
# thread, and 122,880 rows of wide JSON-derived columns is ~200 MB each. Measured on the 1M
# aggregation: 1.33 GB peak with the default, 0.82 GB with 32 MB row groups, same time. And at
# most DuckDB's default 122,880 rows: a prediction task reads whole row groups of the features
# table (domain/services/batch_slices.py), so the groups at a batch's two ends cost less when
# smaller (the features table's 32 MB groups held ~180,000 rows; at 10M a task read its rows in
# 0.08 s against 0.10 s, the prediction stage 7.3-7.8 s against 8.2-8.3 s; staging's groups
# are cut by bytes at ~37,000 rows either way).
PARQUET_OPTIONS = "FORMAT PARQUET, COMPRESSION SNAPPY, ROW_GROUP_SIZE_BYTES '32MB', ROW_GROUP_SIZE 122880"
# Writes one part of a table: (connection, SELECT, part file name, SQL name) -> rows written.
PartWriter = Callable[[duckdb.DuckDBPyConnection, str, str, str], int]


class DuckDBSqlEngine(SqlEngine):
    """Every call opens its own in-memory DuckDB connection: stages may run on worker threads,
    and nothing needs to survive between statements (tables live as Parquet under `root`;
    the raw table's lines in the source files themselves where DuckDB reads them exactly,
    adapters/local/line_items.py).

    Where the Parquet lives is confined to the storage hooks below (`_bind`, `_bind_lines`,
    `_line_items`, `_parts`, `_write`, `_ingest_item`, `_sources`, `_input_bytes`);
    `DuckDBOnS3SqlEngine` overrides just those.
    """

    def __init__(self, root: Path, threads: int | None = None, memory_limit: str | None = None) -> None:
        self.root = root
        self.threads = threads
        self.memory_limit = memory_limit
        self._open: set[duckdb.DuckDBPyConnection] = set()  # connections a timed-out stage may hold
        self._open_lock = threading.Lock()
        self._cancelled = threading.Event()

    # -- storage hooks: a local folder ------------------------------------------------------------
    def _glob(self, table: TableRef) -> str:
        return str(resolve_key(self.root, table.location) / "**" / "*.parquet")

    def _bind(self, conn: duckdb.DuckDBPyConnection, view: str, table: TableRef) -> None:
        folder = resolve_key(self.root, table.location)
        if any(folder.glob(f"*{RECORD_SUFFIX}")):  # a raw table: some items may be read in place
            self._bind_lines(conn, view, self._line_items(table))
            return
        conn.execute(f'CREATE TEMP VIEW "{view}" AS {folder_select(folder, hive=bool(table.partitioned_by))}')

    def _bind_lines(self, conn: duckdb.DuckDBPyConnection, view: str, items: Sequence[LineItem]) -> None:
        """The lines of `items` as one view; every source file read in place is checked first."""
        parts = [item.part for item in items if item.part is not None]
        selects = [f"SELECT * FROM read_parquet([{', '.join(quote(p) for p in parts)}])"] if parts else []
        for item in items:
            if item.in_place is not None:
                item.in_place.check(item.source_file or item.in_place.path)
                selects.append(in_place_lines_sql(item))
        body = " UNION ALL ".join(f"({select})" for select in selects) if selects else EMPTY_LINES_SQL
        conn.execute(f'CREATE TEMP VIEW "{view}" AS {body}')

    def _bind_typed_lines(
        self, conn: duckdb.DuckDBPyConnection, view: str, items: Sequence[LineItem], struct_type: str
    ) -> None:
        """The lines of `items` (each `typed_readable`) as one view whose `line` is a struct."""
        for item in items:
            assert item.in_place is not None
            item.in_place.check(item.source_file or item.in_place.path)
        body = " UNION ALL ".join(f"({typed_lines_sql(item, struct_type)})" for item in items)
        conn.execute(f'CREATE TEMP VIEW "{view}" AS {body}')

    def _item_paths(self, item: LineItem) -> tuple[list[Path], list[str]]:
        """The folders and single files a connection reading `item`'s lines may read."""
        if item.in_place is not None:
            return [], [item.in_place.path]
        return ([Path(item.part).parent] if item.part else []), []

    def _in_place_files(self, tables: Iterable[TableRef]) -> list[str]:
        """Source files read in place when `tables` are read whole (raw tables)."""
        return [i.in_place.path for t in tables for i in self._line_items(t) if i.in_place is not None]

    def _line_items(self, table: TableRef) -> list[LineItem]:
        return local_line_items(resolve_key(self.root, table.location))

    @contextlib.contextmanager
    def _parts(self, target: TableRef) -> Iterator[PartWriter]:
        """Writes one part of `target` per call, by name; the parts become the table when the
        block ends without an error (the whole folder swapped in)."""
        with self._fresh_folder(target) as folder:

            def write(conn: duckdb.DuckDBPyConnection, select: str, name: str, sql_name: str) -> int:
                copy = f"COPY ({select}) TO {quote(str(folder / name))} ({PARQUET_OPTIONS})"
                row = self._run(conn, copy, sql_name).fetchone()
                return int(row[0]) if row else 0

            yield write

    def _input_bytes(self, tables: list[TableRef]) -> int:
        return sum(os.path.getsize(p) for t in tables for p in glob.glob(self._glob(t), recursive=True))

    def _write(self, conn: duckdb.DuckDBPyConnection, select: str, target: TableRef, sql_name: str) -> int | None:
        with self._fresh_folder(target) as folder:
            if target.partitioned_by:
                # DuckDB buffers up to 524,288 rows per open partition before writing any: with
                # 63 batches at 10M rows, batch planning peaked at 2 GB; 20,000 gives 0.8 GB.
                conn.execute("SET partitioned_write_flush_threshold = 20000")
                copy = (
                    f"COPY ({select}) TO {quote(str(folder))} ({PARQUET_OPTIONS}, "
                    f"PARTITION_BY ({target.partitioned_by}), OVERWRITE_OR_IGNORE true)"
                )
            else:
                copy = f"COPY ({select}) TO {quote(str(folder / 'part-00000.parquet'))} ({PARQUET_OPTIONS})"
            result = self._run(conn, copy, sql_name).fetchone()
        return int(result[0]) if result else None

    def _sources(self, source: str) -> list[SourceFile]:
        return local_sources(source)

    @contextlib.contextmanager
    def _fresh_folder(self, target: TableRef) -> Iterator[Path]:
        """An empty folder beside the table's; swapped in for the table when the block ends
        without an error, removed when it raises."""
        final = resolve_key(self.root, target.location)
        folder = final.with_name(final.name + f"{TEMP_MARK}{uuid.uuid4().hex[:8]}")
        folder.mkdir(parents=True)
        try:
            yield folder
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        self._replace(folder, final)

    @staticmethod
    def _replace(new: Path, final: Path) -> None:
        """Swap the freshly written folder in: readers see the old table or the new one."""
        if final.exists():
            retired = final.with_name(final.name + f"{RETIRED_MARK}{uuid.uuid4().hex[:8]}")
            final.rename(retired)
            new.rename(final)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            new.rename(final)

    # -- plumbing ---------------------------------------------------------------------------
    def _spill_folder(self) -> str | None:
        """Where DuckDB spills what exceeds its memory limit (an in-memory database has none)."""
        return str(self.root / ".duckdb-spill")

    @contextlib.contextmanager
    def _connection(
        self,
        reads: Collection[TableRef] = (),
        writes: TableRef | None = None,
        *,
        items: Sequence[LineItem] | None = None,
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A confined connection (`_connect`) for one call, known to `cancel_running` while open."""
        if self._cancelled.is_set():
            raise QueryError("the stage was stopped (it timed out)")
        conn = self._connect(reads, writes, items)
        with self._open_lock:
            self._open.add(conn)
        try:
            yield conn
        except duckdb.InterruptException as exc:  # wherever the interrupt landed
            raise QueryError(f"DuckDB: interrupted, the stage was stopped: {exc}") from exc
        finally:
            with self._open_lock:
                self._open.discard(conn)
            conn.close()

    def cancel_running(self, wait_seconds: float = 2.0) -> int:
        """Interrupt the statements of a stage that timed out: its thread cannot be killed, but
        its queries can, so it stops writing before the run goes on (DuckDB raises
        InterruptException in that thread). An interrupt that lands before a statement has
        begun is lost, so it is repeated until no connection is open; no new one opens after."""
        self._cancelled.set()
        interrupted: set[int] = set()
        deadline = time.monotonic() + wait_seconds
        while True:
            with self._open_lock:
                running = list(self._open)
            if not running or time.monotonic() > deadline:
                return len(interrupted)
            for conn in running:
                conn.interrupt()
                interrupted.add(id(conn))
            time.sleep(0.02)

    def _folders(self, tables: Iterable[TableRef]) -> list[Path]:
        """The local folders a statement over `tables` may touch (see `_connect`)."""
        return [resolve_key(self.root, table.location) for table in tables]

    def _connect(
        self,
        reads: Collection[TableRef] = (),
        writes: TableRef | None = None,
        items: Sequence[LineItem] | None = None,
    ) -> duckdb.DuckDBPyConnection:
        """A connection for one statement, confined to what it needs: the folders of the tables
        it reads, the folder of the run that holds the table it writes (the new table is
        written beside its final place, then swapped in) and the spill folder; with `items`,
        one thread and those items' lines (their parts, or their source files). The staging and
        features SQL thus read their inputs and nothing else: no other file, no other run."""
        # Output order never matters here (every query that needs an order says ORDER BY), and
        # keeping it makes DuckDB hold more in memory; but lines read in place are numbered in
        # the order they are read.
        item_folders: list[Path] = []
        files = self._in_place_files(reads)
        for item in items or ():
            folders_of, files_of = self._item_paths(item)
            item_folders += folders_of
            files += files_of
        config: dict[str, str | bool | int | float | list[str]] = {"preserve_insertion_order": bool(files)}
        spill = self._spill_folder()
        if spill:
            config["temp_directory"] = spill
        if items is not None:
            config["threads"] = 1
            # Joins as written: a file's lines probe, the other (small) input is built. DuckDB
            # guesses 42 rows for a CSV scan and built the lines instead: the anti-join of the
            # staging SELECT took 0.16 s per 250k-line file instead of 0.01 (measured).
            config["disabled_optimizers"] = "join_order,build_side_probe_side"
        elif self.threads:
            config["threads"] = self.threads
        if self.memory_limit:
            config["memory_limit"] = self.memory_limit
        folders = self._folders(reads) + [folder.parent for folder in self._folders([writes] if writes else [])]
        return confined_connection([*folders, *item_folders, *([spill] if spill else [])], config, files)

    def _prepare(
        self,
        conn: duckdb.DuckDBPyConnection,
        sql: str,
        inputs: Mapping[str, TableRef],
        sql_name: str,
        valid_json: Collection[str] = (),
    ) -> str:
        """Bind each `{{ name }}` to a view over the table's Parquet files; transpile."""
        self._bind_inputs(conn, sql, inputs, sql_name)
        return self._transpile(sql, sql_name, valid_json)

    def _bind_inputs(
        self,
        conn: duckdb.DuckDBPyConnection,
        sql: str,
        inputs: Mapping[str, TableRef],
        sql_name: str,
        lines: tuple[str, Sequence[LineItem]] | None = None,
        typed: TypedSelect | None = None,
        fetched: pa.Table | None = None,
    ) -> None:
        """Each `{{ name }}` as a view `__in_name` (`lines`: that placeholder over those items'
        lines only, each line as `typed`'s struct if given, or only the lines `fetched`)."""
        used = set(PLACEHOLDER.findall(sql))
        unknown = used - set(inputs)
        if unknown:
            raise QueryError(f"unknown table placeholder(s) {sorted(unknown)}", sql_name=sql_name)
        for name in used:
            if lines is not None and name == lines[0] and fetched is not None:
                conn.register(f"__fetched_{name}", fetched)
                conn.execute(f'CREATE TEMP VIEW "__in_{name}" AS SELECT * FROM "__fetched_{name}"')
            elif lines is not None and name == lines[0] and typed is not None:
                self._bind_typed_lines(conn, f"__in_{name}", lines[1], typed.struct_type)
            elif lines is not None and name == lines[0]:
                self._bind_lines(conn, f"__in_{name}", lines[1])
            else:
                self._bind(conn, f"__in_{name}", inputs[name])

    @staticmethod
    def _transpile(sql: str, sql_name: str, valid_json: Collection[str]) -> str:
        bound = PLACEHOLDER.sub(lambda m: f'"__in_{m.group(1)}"', strip_statement(sql))
        return athena_to_duckdb(bound, sql_name=sql_name, valid_json=valid_json)

    def _run(self, conn: duckdb.DuckDBPyConnection, sql: str, sql_name: str) -> duckdb.DuckDBPyConnection:
        try:
            return conn.execute(sql)
        except duckdb.IOException as exc:
            raise QueryError(f"DuckDB I/O error: {exc}", sql_name=sql_name, transient=True) from exc
        except duckdb.Error as exc:
            raise QueryError(f"DuckDB: {exc}", sql_name=sql_name) from exc

    def _arrow(self, conn: duckdb.DuckDBPyConnection, sql: str, sql_name: str) -> pa.Table:
        try:
            return conn.sql(sql).to_arrow_table()
        except duckdb.IOException as exc:
            raise QueryError(f"DuckDB I/O error: {exc}", sql_name=sql_name, transient=True) from exc
        except duckdb.Error as exc:
            raise QueryError(f"DuckDB: {exc}", sql_name=sql_name) from exc

    # -- SqlEngine ---------------------------------------------------------------------------
    def plan_ingest(self, source: str, max_item_bytes: int) -> list[IngestItem]:
        """One item per file: files are read in parallel already, and a local file has no
        time limit to stay under."""
        return [IngestItem(i, f.name, f.size) for i, f in enumerate(self._sources(source))]

    def ingest_items(self, items: Sequence[IngestItem], target: TableRef) -> list[int]:
        """As many files at once as DuckDB has threads (adapters/local/local_lines.py)."""
        workers = max(1, min(len(items), self.threads or os.cpu_count() or 1))
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(lambda item: self._ingest_item(item, target), items))

    def _ingest_item(self, item: IngestItem, target: TableRef) -> int:
        return ingest_file(item, resolve_key(self.root, target.location))

    def finish_ingest(self, items: Sequence[IngestItem], lines: Sequence[int], target: TableRef) -> None:
        return None  # whole files only: line numbers are file-wide already, and tables are read as files

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
        """File by file when the statement maps each line on its own (adapters/local/line_wise.py):
        each file (or run of small files, `item_groups`) in its own one-thread connection, which
        numbers a file's lines in order, as many at once as DuckDB has threads, each writing its
        own part of `target`. A statement that only extracts from each line's JSON reads files
        without blank lines through DuckDB's NDJSON reader (adapters/local/typed_lines.py); one
        over a few `positions` reads just those lines of a file read in place
        (adapters/local/line_fetch.py)."""
        if not maps_each_row(sql, lines):
            return self.materialize(target, sql, inputs, sql_name=sql_name, valid_json=valid_json)
        started = time.perf_counter()
        chosen = None if files is None else set(files)
        items = [i for i in self._line_items(inputs[lines]) if chosen is None or i.source_file in (chosen | {None})]
        others = {name: table for name, table in inputs.items() if name != lines}
        reads = self._used(sql, others)
        select = self._transpile(sql, sql_name, valid_json)  # once: the same SQL for every group
        typed = typed_select(select, "line")
        wanted = self._positions(inputs[positions], sql_name) if positions else None
        starts = {item.index: item_starts(item, wanted) if wanted is not None else None for item in items}
        fetched = [item for item in items if starts[item.index] is not None]
        items_read = [item for item in items if starts[item.index] is None]

        def run(write: PartWriter, group: Sequence[LineItem]) -> int:
            name = part_name(group[0].index if group else 0)
            if typed is not None and group and all(item.typed_readable for item in group):
                try:
                    with self._connection(reads, target, items=group) as conn:
                        self._bind_inputs(conn, sql, inputs, sql_name, (lines, group), typed)
                        return write(conn, typed.sql, name, sql_name)
                except (QueryError, duckdb.Error):
                    if self._cancelled.is_set():
                        raise
                    # The reference reading decides: the same statement over the lines as text.
            with self._connection(reads, target, items=group or None) as conn:
                self._bind_inputs(conn, sql, inputs, sql_name, (lines, group))
                return write(conn, select, name, sql_name)

        if typed is None:
            groups = item_groups(items_read)
        else:  # a group is read one way: its files all typed, or all as text
            groups = item_groups([i for i in items_read if i.typed_readable])
            groups += item_groups([i for i in items_read if not i.typed_readable])
        workers = max(1, min(len(groups) + len(fetched), self.threads or os.cpu_count() or 1))
        with self._parts(target) as write, ThreadPoolExecutor(workers, thread_name_prefix="duckdb-lines") as pool:
            rows = 0
            if fetched:  # the few wanted lines of all these files in one statement: one part
                read = pool.map(lambda item: fetch_item(item, starts[item.index] or (), wanted or {}), fetched)
                lines_read = pa.concat_tables(read)
                with self._connection(reads, target) as conn:
                    self._bind_inputs(conn, sql, inputs, sql_name, (lines, fetched), fetched=lines_read)
                    rows += write(conn, select, part_name(fetched[0].index), sql_name)
            if groups:
                rows += sum(pool.map(lambda group: run(write, group), groups))
            elif not fetched:  # an empty table, with the statement's columns
                rows = run(write, [])
        scanned = self._input_bytes(reads) + sum(item.size for item in items)
        return QueryStats(rows=rows, bytes_scanned=scanned, seconds=time.perf_counter() - started)

    def stage_lines(
        self,
        target: TableRef,
        index: TableRef,
        sql: str,
        inputs: Mapping[str, TableRef],
        *,
        lines: str,
        id_field: str,
        sql_name: str,
    ) -> tuple[QueryStats, QueryStats] | None:
        """Each line read once for the staged rows and the line index (adapters/local/hidden_rows.py):
        every line whose JSON has the id goes through the SELECT, file by file through DuckDB's
        NDJSON reader, its row carrying the line's item, number and id in hidden columns; the
        index is read back from them (a line without a row is a line without an id). Only when
        every file is read by the typed reader (plain, no blank line) and the SELECT lets the
        hidden columns reach its result; otherwise None, and nothing is written.

        Measured at 10M lines: the line index was 7.5 s of staging's 42 s, a second parse of
        every line for its id."""
        started = time.perf_counter()
        items = self._line_items(inputs[lines])
        plan = self._one_pass_plan(sql, items, lines, id_field, sql_name)
        if plan is None:
            return None
        select, struct_type = plan
        reads = self._used(sql, {name: table for name, table in inputs.items() if name != lines})
        used = set(PLACEHOLDER.findall(sql))

        def run(folder: Path, group: Sequence[LineItem]) -> int:
            with self._connection(reads, target, items=group) as conn:
                for name in used - {lines}:
                    self._bind(conn, f"__in_{name}", inputs[name])
                for item in group:
                    assert item.in_place is not None
                    item.in_place.check(item.source_file or item.in_place.path)
                body = " UNION ALL ".join(f"({records_sql(item, struct_type, id_field)})" for item in group)
                conn.execute(f'CREATE TEMP VIEW "__in_{lines}" AS {body}')
                copy = f"COPY ({select}) TO {quote(str(folder / part_name(group[0].index)))} ({PARQUET_OPTIONS})"
                row = self._run(conn, copy, sql_name).fetchone()
                return int(row[0]) if row else 0

        groups = item_groups(items)
        workers = max(1, min(len(groups), self.threads or os.cpu_count() or 1))
        try:
            with self._fresh_folder(target) as folder:
                # Unreadable until the rejected lines are excluded (exclude_lines).
                (folder / PENDING).touch()
                (folder / ITEMS).write_text(json.dumps({str(item.source_file): item.index for item in items}))
                with ThreadPoolExecutor(workers, thread_name_prefix="duckdb-lines") as pool:
                    staged = sum(pool.map(lambda group: run(folder, group), groups))
                indexed = self._index_from_parts(folder, groups, index, sql_name)
        except (QueryError, duckdb.Error):
            if self._cancelled.is_set():
                raise
            return None  # the statements one by one decide, and say what is wrong
        seconds = time.perf_counter() - started
        scanned = sum(item.size for item in items)
        return QueryStats(rows=indexed, bytes_scanned=scanned, seconds=seconds), QueryStats(
            rows=staged, bytes_scanned=0, seconds=seconds
        )

    def _one_pass_plan(
        self, sql: str, items: Sequence[LineItem], lines: str, id_field: str, sql_name: str
    ) -> tuple[str, str] | None:
        """(the SELECT with the hidden columns, the reader's struct type) for staging in one
        pass, or None when it cannot be."""
        if not items or not all(item.typed_readable and item.source_file is not None for item in items):
            return None
        if not maps_each_row(sql, lines) or any(name in sql for name in HIDDEN):
            return None
        typed = typed_select(self._transpile(sql, sql_name, ("line",)), "line")
        if typed is None:
            return None
        fields = dict(typed.fields)
        if fields.setdefault(id_field, "VARCHAR") != "VARCHAR":
            return None  # the SELECT reads the id as another type: the struct cannot give both
        select = with_hidden_columns(typed.sql)
        return None if select is None else (select, TypedSelect(select, fields).struct_type)

    def _index_from_parts(
        self, folder: Path, groups: Sequence[Sequence[LineItem]], index: TableRef, sql_name: str
    ) -> int:
        """The line index from the staged parts' hidden columns: one row per line of every item,
        the lines without a row (no id) found as the numbers missing, a part (a group of items)
        at a time, so memory does not grow with the data. A SELECT that gave a line two rows,
        or a row no line of its items, is a QueryError (the statements one by one then say
        what is wrong)."""
        items = [item for group in groups for item in group]
        names = pa.array([str(item.source_file) for item in items], pa.string())
        missing = [lines_without_row(folder / part_name(group[0].index), group, sql_name) for group in groups]
        owners = np.concatenate([owner for owner, _ in missing]) if missing else np.array([], np.int64)
        numbers = np.concatenate([number for _, number in missing]) if missing else np.array([], np.int64)
        position = {item.index: k for k, item in enumerate(items)}
        without_id = pa.table(
            {
                "source_file": names.take(pa.array([position[i] for i in owners.tolist()], pa.int64())),
                "line_number": pa.array(numbers, pa.int64()),
                "reason_code": pa.array([NO_ID] * len(numbers), pa.string()),
                "doc_id": pa.nulls(len(numbers), pa.string()),
            }
        )
        parts = sorted(str(p) for p in folder.glob("*.parquet"))
        files = pa.table({"item": pa.array([item.index for item in items], pa.int64()), "source_file": names})
        staged = (
            f"SELECT f.source_file, p.{LINE} AS line_number, CAST(NULL AS VARCHAR) AS reason_code, "
            f"p.{DOC_ID} AS doc_id FROM read_parquet([{', '.join(quote(p) for p in parts)}]) AS p "
            f"JOIN __files AS f ON f.item = p.{ITEM} UNION ALL "
            if parts
            else ""
        )
        with self._connection((), index) as conn:
            conn.register("__files", files)
            conn.register("__without_id", without_id)
            return int(self._write(conn, f"{staged}SELECT * FROM __without_id", index, sql_name) or 0)

    def ids_are_line_ids(self, target: TableRef, column: str) -> bool:
        """Every part's rows, excluded ones too, compared with their hidden line id: 0.26 s at
        10M rows, where counting the distinct ids took 0.8-1.0 s. Any row that differs (an id
        the SELECT rewrote, cast or left NULL) answers False: the caller then counts."""
        folder = resolve_key(self.root, target.location)
        parts = sorted(str(p) for p in folder.glob("*.parquet"))
        if not parts or not (folder / ITEMS).exists():
            return False  # not written by stage_lines
        differing = (
            f"SELECT count(*) FROM read_parquet([{', '.join(quote(p) for p in parts)}]) "
            f'WHERE CAST("{column.replace(chr(34), chr(34) * 2)}" AS VARCHAR) IS DISTINCT FROM {DOC_ID}'
        )
        try:
            with self._connection([target]) as conn:
                row = self._run(conn, differing, "staging check").fetchone()
        except QueryError:
            return False
        return row is not None and int(row[0]) == 0

    def exclude_lines(self, target: TableRef, positions: TableRef) -> None:
        """The rows of the lines `positions` lists (source_file, line_number) left out of
        `target`, a table stage_lines wrote: their list written beside its parts, then the
        table marked readable."""
        folder = resolve_key(self.root, target.location)
        items = json.loads((folder / ITEMS).read_text())
        mapping = pa.table(
            {"source_file": pa.array(list(items), pa.string()), "item": pa.array(list(items.values()), pa.int64())}
        )
        temporary = folder / f".{EXCLUDED}{TEMP_MARK}{uuid.uuid4().hex[:8]}"
        with self._connection([positions], target) as conn:
            conn.register("__items", mapping)
            self._bind(conn, "__positions", positions)
            select = "SELECT m.item, p.line_number AS line FROM __positions AS p JOIN __items AS m USING (source_file)"
            self._run(conn, f"COPY ({select}) TO {quote(str(temporary))} (FORMAT PARQUET)", "staging exclusions")
        temporary.replace(folder / EXCLUDED)
        (folder / PENDING).unlink(missing_ok=True)

    def _positions(self, table: TableRef, sql_name: str) -> dict[str, list[int]]:
        """`table`'s (source_file, line_number) rows as file -> line numbers."""
        found = self.query(
            "SELECT source_file, list(line_number) AS numbers FROM {{ positions }} GROUP BY source_file",
            {"positions": table},
            sql_name=sql_name,
        ).to_pydict()
        return dict(zip(found["source_file"], found["numbers"], strict=True))

    def source_fingerprint(self, source: str) -> str:
        listing = [(f.name, f.size, f.version) for f in self._sources(source)]
        return hashlib.sha256(json.dumps(listing).encode()).hexdigest()[:16]

    def materialize(
        self,
        target: TableRef,
        sql: str,
        inputs: Mapping[str, TableRef],
        *,
        sql_name: str,
        valid_json: Collection[str] = (),
    ) -> QueryStats:
        started = time.perf_counter()
        with self._connection(self._used(sql, inputs), target) as conn:
            rows = self._write(conn, self._prepare(conn, sql, inputs, sql_name, valid_json), target, sql_name)
        # What Athena would bill for: the input files' bytes (no column pruning counted).
        scanned = self._input_bytes([inputs[n] for n in set(PLACEHOLDER.findall(sql)) & set(inputs)])
        return QueryStats(rows=rows, bytes_scanned=scanned, seconds=time.perf_counter() - started)

    def forget(self, table: TableRef) -> bool:
        return False  # every statement binds its tables afresh as views over the files: nothing to drop

    def _used(self, sql: str, inputs: Mapping[str, TableRef]) -> list[TableRef]:
        return [inputs[name] for name in sorted(set(PLACEHOLDER.findall(sql)) & set(inputs))]

    def table_schema(self, table: TableRef) -> pa.Schema:
        return self.query("SELECT * FROM {{ t }} LIMIT 0", {"t": table}, sql_name="schema").schema

    def query(self, sql: str, inputs: Mapping[str, TableRef], *, sql_name: str) -> pa.Table:
        with self._connection(self._used(sql, inputs)) as conn:
            select = self._prepare(conn, sql, inputs, sql_name)
            return self._arrow(conn, select, sql_name)

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
        with self._connection(self._used(sql, inputs)) as conn:
            select = self._prepare(conn, sql, inputs, sql_name)
            fetch = functools.partial(self._arrow, conn, sql_name=sql_name)
            return seeded_sample(fetch, select, rows=rows, key=key, seed=seed, population=population)
