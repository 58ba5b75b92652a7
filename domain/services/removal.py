"""Removing a table: its files from the object store and its registration from the engine."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from domain.context import Ports
from domain.ports.sql_engine import TableRef


@dataclass
class Removed:
    objects: int = 0
    tables: int = 0

    def __iadd__(self, other: Removed) -> Removed:
        self.objects += other.objects
        self.tables += other.tables
        return self


def overlaps(location: str, others: Collection[str]) -> bool:
    """Whether deleting `location` would delete any of `others` (or part of one)."""
    return any(location.startswith(other) or other.startswith(location) for other in others)


def remove_tables(ports: Ports, tables: Iterable[TableRef], protected: Collection[str] = ()) -> Removed:
    """Delete each table's files and what the engine registered to read them (on Athena, a
    Glue table and its partitions), so that no catalog entry is left pointing at nothing.
    A table at (or around) a `protected` location, one the catalog points at, is left alone."""
    removed = Removed()
    for table in tables:
        if overlaps(table.location, protected):
            continue
        removed.objects += ports.store.delete_prefix(table.location)
        removed.tables += ports.engine.forget(table)
    return removed
