"""SqlEngine: runs the pipeline's SQL where the data lives (DuckDB locally, Athena on AWS)."""

from __future__ import annotations

import abc
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class TableRef:
    """A table the pipeline reads or writes.

    `name` is a catalog-safe identifier; `location` is a key prefix relative to the output
    root (for example `runs/RUN/staging`). Adapters turn both into what their engine needs:
    a Parquet glob for DuckDB, a Glue table and an `s3://` location for Athena.
    """

    name: str
    location: str
    partitioned_by: str | None = None


@dataclass(frozen=True)
class QueryStats:
    """What one statement cost: rows it wrote (if the engine knows), bytes it scanned, time."""

    rows: int | None
    bytes_scanned: int
    seconds: float


@dataclass(frozen=True)
class IngestStats:
    files: int
    lines: int
    bytes_read: int
    seconds: float


class SqlEngine(abc.ABC):
    """Executes SELECT statements written in the Athena (Trino) dialect.

    Statements refer to tables only through `{{ name }}` placeholders, resolved from
    `inputs`; the adapter translates the dialect when its engine is not Trino. Errors are
    raised as `domain.errors.QueryError` naming `sql_name` (the SQL file or stage).
    """

    @abc.abstractmethod
    def ingest_lines(self, source: str, target: TableRef) -> IngestStats:
        """Read every JSON-lines file under `source` (a folder, glob or URI; `.gz` allowed) into
        `target`, one row per line with columns: source_file (varchar), line_number (bigint,
        1-based), line (varchar, the text; invalid UTF-8 bytes replaced), problem (varchar:
        NULL, or why the line could not be read as text). A trailing newline does not make a line.
        """

    @abc.abstractmethod
    def source_fingerprint(self, source: str) -> str:
        """A short string that changes whenever the files under `source` change (names, sizes,
        modification times or ETags): a resumed run refuses to continue on different data."""

    @abc.abstractmethod
    def materialize(
        self,
        target: TableRef,
        sql: str,
        inputs: Mapping[str, TableRef],
        *,
        sql_name: str,
        valid_json: Collection[str] = (),
    ) -> QueryStats:
        """Write the result of `sql` as Parquet at `target.location`, replacing what was there.

        If `target.partitioned_by` is set, that column becomes the partition key
        (`location/<col>=<value>/...`) and is dropped from the files, Hive style.

        `valid_json` names columns the caller has already checked hold valid JSON text in
        every row the SQL reads (the staging source: the line index rejected the rest). An
        engine that checks JSON before parsing it may skip the check for them; a row that is
        not JSON after all then fails the statement instead of giving NULLs.
        """

    @abc.abstractmethod
    def forget(self, table: TableRef) -> bool:
        """Drop what the engine registered to read `table` (a catalog table and its partitions),
        never its files: called when the files are deleted, so that no table is left pointing at
        nothing. Returns whether there was anything to drop; an engine that registers nothing
        (it reads the files directly) returns False."""

    @abc.abstractmethod
    def query(self, sql: str, inputs: Mapping[str, TableRef], *, sql_name: str) -> pa.Table:
        """Run `sql` and return its result as an Arrow table (meant for small results)."""

    @abc.abstractmethod
    def sample(
        self, sql: str, inputs: Mapping[str, TableRef], *, rows: int, key: str, seed: int, sql_name: str
    ) -> pa.Table:
        """At most `rows` rows of `sql`'s result: a random sample, the same for the same data,
        `key` (a column identifying rows) and `seed`, whatever the engine's parallelism."""
