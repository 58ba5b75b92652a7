"""SqlEngine: runs the pipeline's SQL where the data lives (DuckDB locally, Athena on AWS)."""

from __future__ import annotations

import abc
import time
from collections.abc import Collection, Mapping, Sequence
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


@dataclass(frozen=True)
class IngestItem:
    """One bounded piece of the source to ingest: a whole file, or a byte range of a large plain
    one, so that no single ingest call grows with the data (on AWS each item is one Lambda
    invocation). A range owns the lines that START inside [start, end); line numbers count
    from 1 within the item and are made file-wide by `finish_ingest`."""

    index: int
    source_file: str  # the file's name in rejects and messages
    size: int  # bytes the item reads (compressed bytes for a compressed file)
    start: int = 0
    end: int | None = None  # exclusive; None: to the end of the file

    @property
    def is_range(self) -> bool:
        return self.start > 0 or self.end is not None

    def to_json(self) -> dict[str, object]:
        return {
            "index": self.index,
            "source_file": self.source_file,
            "size": self.size,
            "start": self.start,
            "end": self.end,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> IngestItem:
        end = data.get("end")
        return cls(
            int(str(data["index"])),
            str(data["source_file"]),
            int(str(data["size"])),
            int(str(data.get("start", 0))),
            None if end is None else int(str(end)),
        )


# The line index's reason for a line without an id, until its text tells why (staging).
NO_ID = "no_id"


class SqlEngine(abc.ABC):
    """Executes SELECT statements written in the Athena (Trino) dialect.

    Statements refer to tables only through `{{ name }}` placeholders, resolved from
    `inputs`; the adapter translates the dialect when its engine is not Trino. Errors are
    raised as `domain.errors.QueryError` naming `sql_name` (the SQL file or stage).
    """

    @abc.abstractmethod
    def plan_ingest(self, source: str, max_item_bytes: int) -> list[IngestItem]:
        """The items that together cover every JSON-lines file under `source` (a folder, glob or
        URI), in file order. A file the engine cannot read (an unknown extension, a link out of
        the source folder) is refused here, by name, before any work; a source with no file is
        an error. An engine that reads files in parallel anyway may ignore `max_item_bytes` and
        make one item per file; a compressed file is always one item."""

    @abc.abstractmethod
    def ingest_items(self, items: Sequence[IngestItem], target: TableRef) -> list[int]:
        """Make the lines of each item readable as rows of `target` (per item, so re-ingesting an
        item replaces only what it wrote), one row per line with columns: source_file (varchar),
        line_number (bigint, 1-based within the item), line (varchar, the text; invalid UTF-8
        bytes replaced), problem (varchar: NULL, or why the line could not be read as text). A
        trailing newline does not make a line. An engine may copy the lines into the table
        (raw parts) or, for a file it reads exactly as it is, note where the file is and read it
        in place whenever the table is read. Returns the lines per item."""

    @abc.abstractmethod
    def finish_ingest(self, items: Sequence[IngestItem], lines: Sequence[int], target: TableRef) -> None:
        """Make `target` readable as the whole raw table once every item is ingested
        (`lines[i]`: the lines item i wrote), with file-wide line numbers for files cut into ranges."""

    def ingest_lines(self, source: str, target: TableRef, max_item_bytes: int = 1 << 30) -> IngestStats:
        """Plan, ingest and finish in one call: every line of `source` into `target`."""
        started = time.perf_counter()
        items = self.plan_ingest(source, max_item_bytes)
        lines = self.ingest_items(items, target)
        self.finish_ingest(items, lines, target)
        return IngestStats(
            files=len({i.source_file for i in items}),
            lines=sum(lines),
            bytes_read=sum(i.size for i in items),
            seconds=time.perf_counter() - started,
        )

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
        """`materialize` for a statement over the lines of the source: `inputs[lines]` is the
        table `ingest_items` made. Where the statement maps each line on its own (no aggregate,
        window, DISTINCT or LIMIT, and the lines read once), its result is the union of its
        results over each file's lines, and an engine may run it file by file, reading each
        file's lines wherever it keeps them; otherwise, or if it prefers, it runs it whole.

        `files`: the caller knows that lines of other source files give no result rows, so an
        engine may leave those files unread (None: every file). `positions`: the input (of
        `source_file`, `line_number`) the statement joins the lines to, so that only the lines
        it lists give result rows: an engine may read just those lines."""

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
        """Optionally, staging's two readings of the lines in one: `sql` (the staging SELECT,
        its source every line of `inputs[lines]` whose JSON has the id `id_field`, repeated ids
        included) materialised at `target`, and at `index` what the line index statement gives
        for those lines (`line_index_sql`: a line without an id has the reason NO_ID).
        Returns the index's and the SELECT's stats; the rows of lines the caller then rejects
        stay in `target`, unreadable, until `exclude_lines`. None (the default): the engine
        does not, nothing was written, and the caller runs the statements one by one."""
        return None

    def ids_are_line_ids(self, target: TableRef, column: str) -> bool:
        """Whether every row `stage_lines` wrote to `target` holds in `column`, read as text, the
        id its line holds (the line index's `doc_id`). The rows `exclude_lines` keeps, one per
        line id seen first, then have distinct ids, never NULL, with no count of distinct ids.
        False (the default): not known, and the caller counts them."""
        return False

    def exclude_lines(self, target: TableRef, positions: TableRef) -> None:
        """Leave out of `target` (written by `stage_lines`) the rows of the lines `positions`
        (source_file, line_number) lists, and make it readable."""
        raise NotImplementedError(f"{type(self).__name__} does not stage lines in one pass")

    @abc.abstractmethod
    def forget(self, table: TableRef) -> bool:
        """Drop what the engine registered to read `table` (a catalog table and its partitions),
        never its files: called when the files are deleted, so that no table is left pointing at
        nothing. Returns whether there was anything to drop; an engine that registers nothing
        (it reads the files directly) returns False."""

    @abc.abstractmethod
    def cancel_running(self) -> int:
        """Stop every statement still running for this run (its stage timed out): none may go
        on writing where a retry or a resume will write. Returns how many were stopped."""

    @abc.abstractmethod
    def table_schema(self, table: TableRef) -> pa.Schema:
        """The columns of a table with their exact types, as its files hold them: what a catalog
        entry over the table must declare. (A query's result may not say as much: Athena names
        an array's type without its elements.)"""

    @abc.abstractmethod
    def query(self, sql: str, inputs: Mapping[str, TableRef], *, sql_name: str) -> pa.Table:
        """Run `sql` and return its result as an Arrow table (meant for small results)."""

    @abc.abstractmethod
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
        """At most `rows` rows of `sql`'s result: a random sample, the same for the same data,
        `key` (a column identifying rows) and `seed`, whatever the engine's parallelism.
        `population`: how many rows `sql` gives, when the caller counted them already (an engine
        that needs the number then need not count again); the sample is the same either way."""
