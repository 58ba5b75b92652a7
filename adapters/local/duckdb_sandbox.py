"""DuckDB connections that can touch only named folders: for SQL that users write.

`enable_external_access = false` turns off every file system access (readers, COPY, ATTACH,
extension installs) except under `allowed_directories`, which must be set first and can then
never be widened on that connection (measured with DuckDB 2.0: read_csv('/etc/passwd'),
COPY ... TO elsewhere, ATTACH, '..' out of an allowed folder and re-enabling all fail;
registered Arrow datasets and the built-in JSON functions still work).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb

from domain.errors import QueryError


def folder_forms(path: Path | str) -> set[str]:
    """`path` as DuckDB may be given it, given and resolved (a symlinked root), ending in '/'."""
    given = Path(path).absolute()
    return {f"{given}/", f"{given.resolve()}/"}


def confined_connection(
    folders: Iterable[Path | str],
    config: dict[str, str | bool | int | float | list[str]] | None = None,
    files: Iterable[Path | str] = (),
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that reads and writes files only under `folders` and the single
    `files` (none: no file at all)."""
    conn = duckdb.connect(":memory:", config=config or {})
    allowed = sorted({form for folder in folders for form in folder_forms(folder)})
    if allowed:
        conn.execute("SET allowed_directories = ?", [allowed])
    paths = sorted({str(Path(f).absolute()) for f in files} | {str(Path(f).resolve()) for f in files})
    if paths:
        conn.execute("SET allowed_paths = ?", [paths])
    conn.execute("SET enable_external_access = false")
    return conn


def check_select_only(sql: str, sql_name: str) -> None:
    """QueryError unless every statement in `sql` is a SELECT (DuckDB's own parser decides)."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryError(f"DuckDB: {exc}", sql_name=sql_name) from None
    others = [s.type.name for s in statements if s.type != duckdb.StatementType.SELECT]
    if others or not statements:
        raise QueryError(
            f"batchml query runs SELECT statements only (got {', '.join(others) or 'none'}): it never writes",
            sql_name=sql_name,
        )
