"""Catalog: named tables a user can query (a DuckDB catalog file locally, Glue on AWS)."""

from __future__ import annotations

import abc

import pyarrow as pa


class Catalog(abc.ABC):
    """Tables are identified by validated identifiers; locations are keys under the output root."""

    @abc.abstractmethod
    def ensure_table(self, name: str, schema: pa.Schema, location: str) -> bool:
        """Create `name` with `schema` at `location` if it does not exist (idempotent, like
        CREATE TABLE IF NOT EXISTS). Returns True if it was created by this call."""

    @abc.abstractmethod
    def publish(self, name: str, schema: pa.Schema, location: str) -> None:
        """Point `name` at `location` (with `schema`) in one step: readers see either the old
        table or the new one."""

    @abc.abstractmethod
    def location(self, name: str) -> str | None:
        """The location `name` points at, or None if there is no such table."""

    @abc.abstractmethod
    def drop(self, name: str) -> None:
        """Forget `name` (its data stays where it is); no error if absent."""
