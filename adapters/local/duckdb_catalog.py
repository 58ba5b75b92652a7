"""A DuckDB database file as the Catalog: one view per table, over its Parquet location.

`batchml query` copies the views out of this file, so users query tables by name, as in
Athena. Connections are short-lived: DuckDB lets only one process write a database file at a
time, and none while another holds it open.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pyarrow as pa

from adapters.local.duckdb_sandbox import check_select_only, confined_connection
from adapters.local.hidden_rows import folder_select
from adapters.local.paths import resolve_key
from domain.errors import QueryError
from domain.identifiers import check_identifier, is_identifier
from domain.ports.catalog import Catalog, TableVersion

CATALOG_FILE = "catalog.duckdb"


def _column(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class DuckDBCatalog(Catalog):
    def __init__(self, root: Path, attempts: int = 20) -> None:
        self.root = root
        self.path = root / CATALOG_FILE
        self.attempts = attempts

    def _connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        self.root.mkdir(parents=True, exist_ok=True)
        for attempt in range(self.attempts):
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.IOException:
                # Another process (a `batchml query`, say) has the file open; it lets go soon.
                if attempt == self.attempts - 1:
                    raise
                time.sleep(0.1 * (attempt + 1))
        raise AssertionError("unreachable")

    def _init(self, conn: duckdb.DuckDBPyConnection) -> None:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS batchml_tables (name VARCHAR PRIMARY KEY, location VARCHAR, "
            "schema_json VARCHAR, updated_at DOUBLE)"
        )

    @staticmethod
    def _empty_select(conn: duckdb.DuckDBPyConnection, schema: pa.Schema) -> str:
        conn.register("__schema", schema.empty_table())
        described = conn.execute("DESCRIBE __schema").fetchall()
        conn.unregister("__schema")
        columns = ", ".join(f'CAST(NULL AS {row[1]}) AS "{row[0]}"' for row in described)
        return f"SELECT {columns} WHERE false"

    def _record(self, conn: duckdb.DuckDBPyConnection, name: str, schema: pa.Schema, location: str) -> None:
        fields = [{"name": f.name, "type": str(f.type)} for f in schema]
        conn.execute(
            "INSERT OR REPLACE INTO batchml_tables VALUES (?, ?, ?, ?)",
            [name, location, json.dumps(fields), time.time()],
        )

    def ensure_table(self, name: str, schema: pa.Schema, location: str) -> bool:
        check_identifier(name, "table name")
        with self._connect() as conn:
            self._init(conn)
            if conn.execute("SELECT 1 FROM batchml_tables WHERE name = ?", [name]).fetchone():
                return False
            conn.execute("BEGIN")
            conn.execute(f'CREATE OR REPLACE VIEW "{name}" AS {self._empty_select(conn, schema)}')
            self._record(conn, name, schema, location)
            conn.execute("COMMIT")
            return True

    def publish_together(self, tables: Sequence[TableVersion]) -> None:
        for table in tables:
            check_identifier(table.name, "table name")
        with self._connect() as conn:
            self._init(conn)
            conn.execute("BEGIN")  # every view and its record change together, or none does
            for table in tables:
                conn.execute(f'CREATE OR REPLACE VIEW "{table.name}" AS {self._select(table)}')
                self._record(conn, table.name, table.schema, table.location)
            conn.execute("COMMIT")

    def _files(self, location: str) -> str:
        """The table at `location` as a sub-query (hidden rows and columns left out: hidden_rows.py)."""
        return f"({folder_select(resolve_key(self.root, location), hive=False)})"

    def _select(self, table: TableVersion) -> str:
        """What the view shows: the files, or the base table's columns then the added ones,
        joined on the key (every key is in both, once in the added table: aggregation checks)."""
        join = table.join
        if join is None:
            return f"SELECT * FROM {self._files(table.location)}"
        base = ", ".join(f"b.{_column(name)}" for name in join.base_schema.names)
        added = "".join(f", a.{_column(name)}" for name in join.added_schema.names if name != join.key)
        key = _column(join.key)
        return (
            f"SELECT {base}{added} FROM {self._files(join.base_location)} AS b "
            f"JOIN {self._files(table.location)} AS a ON b.{key} = a.{key}"
        )

    def location(self, name: str) -> str | None:
        if not self.path.exists():
            return None
        with self._connect(read_only=True) as conn:
            try:
                row = conn.execute("SELECT location FROM batchml_tables WHERE name = ?", [name]).fetchone()
            except duckdb.CatalogException:
                return None
        return str(row[0]) if row else None

    def drop(self, name: str) -> None:
        check_identifier(name, "table name")
        with self._connect() as conn:
            self._init(conn)
            conn.execute(f'DROP VIEW IF EXISTS "{name}"')
            conn.execute("DELETE FROM batchml_tables WHERE name = ?", [name])

    def tables(self) -> list[tuple[str, str]]:
        """(name, location) of every table, for `batchml query` to list."""
        if not self.path.exists():
            return []
        with self._connect(read_only=True) as conn:
            try:
                rows = conn.execute("SELECT name, location FROM batchml_tables").fetchall()
                return [(str(r[0]), str(r[1])) for r in rows]
            except duckdb.CatalogException:
                return []

    def run_tables(self, run_id: str) -> dict[str, Path]:
        """The run's own tables still on disk (all of them with keep_intermediates), by name."""
        folder = resolve_key(self.root, f"runs/{run_id}")
        if not folder.is_dir():
            raise FileNotFoundError(f"no run {run_id} under {self.root / 'runs'}")
        return {
            table.name: table
            for table in sorted(folder.iterdir())
            if table.is_dir() and is_identifier(table.name) and any(table.rglob("*.parquet"))
        }

    def view_definitions(self) -> list[str]:
        """The CREATE VIEW statement of every table, read in one short read-only connection."""
        with self._connect(read_only=True) as conn:
            rows = conn.execute("SELECT sql FROM duckdb_views() WHERE NOT internal AND NOT temporary").fetchall()
        return [str(row[0]) for row in rows]

    def query(self, sql: str, run_id: str | None = None) -> pa.Table:
        """A user's SQL over the catalog's tables (used by `batchml query`); with a run id, that
        run's tables too, as views named after them (staging, features, ...).

        Read-only and confined to the lake: SELECT statements only, in an in-memory database
        that can read files under the root and nowhere else. The catalog file itself is open
        only while its views are copied, so a long query never holds a lock a run needs."""
        if not self.path.exists():
            raise FileNotFoundError(f"no catalog at {self.path}: run a pipeline first")
        check_select_only(sql, "query")
        views = self.view_definitions()
        run_tables = self.run_tables(run_id) if run_id else {}
        with confined_connection([self.root]) as conn:
            unreadable: dict[str, str] = {}
            for view in views:
                try:
                    conn.execute(view)
                except duckdb.Error as exc:  # its files are gone: said if the query names it
                    unreadable[view.split('"')[1] if '"' in view else view] = str(exc)
            for name, folder in run_tables.items():
                try:
                    select = folder_select(folder, name in ("scoring", "predictions"))
                except QueryError as exc:  # a table its stage left unfinished: said if the query names it
                    unreadable[name] = str(exc)
                    continue
                conn.execute(f'CREATE OR REPLACE TEMP VIEW "{name}" AS {select}')
            try:
                return conn.sql(sql).to_arrow_table()
            except duckdb.Error as exc:  # the user's SQL: say what DuckDB said, no traceback
                named = next((n for n in unreadable if n in str(exc)), None)
                if named is not None:
                    raise QueryError(f"table {named} cannot be read: {unreadable[named]}", sql_name="query") from None
                raise QueryError(f"DuckDB: {exc}", sql_name="query") from None
