"""Catalog: named tables a user can query (a DuckDB catalog file locally, Glue on AWS)."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class Join:
    """A table kept as two stored tables joined on a key rather than as one copy: the base
    table (`base_location`, every row with most of its columns) and the table at the version's
    own location (the key and the columns it adds to each row, every key exactly once)."""

    key: str
    base_location: str
    base_schema: pa.Schema
    added_schema: pa.Schema


@dataclass(frozen=True)
class TableVersion:
    """What a published table shows: its name, its columns and the location of its files (with
    a `join`: the added columns' files, shown joined to the base table's)."""

    name: str
    schema: pa.Schema
    location: str
    join: Join | None = None

    @property
    def locations(self) -> tuple[str, ...]:
        """Every location the version reads."""
        return (self.location,) if self.join is None else (self.location, self.join.base_location)


class Catalog(abc.ABC):
    """Tables are identified by validated identifiers; locations are keys under the output root."""

    @abc.abstractmethod
    def ensure_table(self, name: str, schema: pa.Schema, location: str) -> bool:
        """Create `name` with `schema` at `location` if it does not exist (idempotent, like
        CREATE TABLE IF NOT EXISTS). Returns True if it was created by this call."""

    @abc.abstractmethod
    def publish_together(self, tables: Sequence[TableVersion]) -> None:
        """Point each table at its location (with its schema; a version with a `join` becomes a
        view joining its two stored tables). Each table switches in one step (readers see its
        old version or its new one); all of them in one step where the catalog can (one
        transaction of the DuckDB catalog file), else one after the other (Glue has no
        transaction over several tables: the publication pointer in the lake covers the gap)."""

    def publish(self, name: str, schema: pa.Schema, location: str) -> None:
        """Point one table at `location`: readers see either the old table or the new one."""
        self.publish_together([TableVersion(name, schema, location)])

    @abc.abstractmethod
    def location(self, name: str) -> str | None:
        """The location `name` points at (a joined version's own location), or None if there is
        no such table."""

    @abc.abstractmethod
    def drop(self, name: str) -> None:
        """Forget `name` (its data stays where it is); no error if absent."""
