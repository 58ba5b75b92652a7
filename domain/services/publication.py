"""The publication pointer: one object that says what the results table and its rejects table show.

`results/TABLE/_published.json` is written in one atomic put. It names the runs kept for
roll-back (in publish order), the one both tables show (the last published, unless a roll-back
chose another) and each kept run's two tables, locations and schemas. A run's results table is
its staging table joined to its narrow table of values (written once, not copied: see
services/aggregation.py), so a kept run's staging table is published data too.
The catalog follows it: a publish writes the pointer first (the commit point), then switches
both tables. A process killed in between leaves the catalog behind the pointer; the next start
rolls the catalog forward (`follow_pointer`), so the two tables never stay on different runs.
Nothing the pointer or the catalog names is ever deleted (`protected_locations`), nor the
staging table of any kept run.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from domain.context import Ports, RunContext
from domain.layout import RunLayout, published_history_key
from domain.ports.catalog import Join, TableVersion
from domain.ports.object_store import ObjectStore
from domain.ports.sql_engine import TableRef


def rejects_table(table: str) -> str:
    return f"{table}_rejects"


@dataclass(frozen=True)
class Publication:
    runs: list[str]  # kept for roll-back, in publish order
    shown_run: str | None = None  # the run both tables show; None: the last one
    # Both tables of each kept run, so a roll-back needs no query; a pointer an older batchml
    # wrote has none.
    tables: dict[str, tuple[TableVersion, ...]] = field(default_factory=dict)

    @property
    def current(self) -> str | None:
        return self.shown_run or (self.runs[-1] if self.runs else None)

    @property
    def shown(self) -> tuple[TableVersion, ...]:
        return self.tables.get(self.current, ()) if self.current else ()

    @property
    def kept_locations(self) -> set[str]:
        """Every location a kept run's tables read (a roll-back may show any of them)."""
        return {location for tables in self.tables.values() for t in tables for location in t.locations}

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "shown": self.current,
            "tables": {run: [_version_json(t) for t in tables] for run, tables in self.tables.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Publication:
        tables = {run: tuple(_version(t) for t in versions) for run, versions in data.get("tables", {}).items()}
        return cls(runs=list(data.get("runs", [])), shown_run=data.get("shown"), tables=tables)


def _version_json(version: TableVersion) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": version.name,
        "location": version.location,
        "schema": _encode_schema(version.schema),
    }
    if version.join is not None:
        data["join"] = {
            "key": version.join.key,
            "base_location": version.join.base_location,
            "base_schema": _encode_schema(version.join.base_schema),
            "added_schema": _encode_schema(version.join.added_schema),
        }
    return data


def _version(data: dict[str, Any]) -> TableVersion:
    """A version as the pointer keeps it; one an older batchml wrote has no join (a plain copy)."""
    join = data.get("join")
    return TableVersion(
        data["name"],
        _decode_schema(data["schema"]),
        data["location"],
        None
        if join is None
        else Join(
            join["key"],
            join["base_location"],
            _decode_schema(join["base_schema"]),
            _decode_schema(join["added_schema"]),
        ),
    )


def _encode_schema(schema: pa.Schema) -> str:
    return base64.b64encode(schema.serialize().to_pybytes()).decode("ascii")


def _decode_schema(text: str) -> pa.Schema:
    return pa.ipc.read_schema(pa.py_buffer(base64.b64decode(text)))


def read_publication(store: ObjectStore, table: str) -> Publication:
    try:
        return Publication.from_json(json.loads(store.get(published_history_key(table))))
    except KeyError:
        return Publication(runs=[])


def published_runs(ctx: RunContext) -> list[str]:
    """The kept published runs, oldest published first (a roll-back does not reorder them)."""
    return read_publication(ctx.ports.store, ctx.spec.output.table).runs


def shown_run(ctx: RunContext) -> str | None:
    """The published run the results table shows now."""
    return read_publication(ctx.ports.store, ctx.spec.output.table).current


def run_tables(ports: Ports, table: str, run_id: str, key: str | None) -> tuple[TableVersion, TableVersion]:
    """The results table and the rejects table as `run_id` left them (schemas read from its
    files): with the id column `key`, the results are the run's staging table joined to its
    values on it; without (a run an older batchml published), the results are one table."""
    layout = RunLayout(run_id, table)
    values, rejects = schema(ports, layout.results), schema(ports, layout.rejects)
    if key is None:
        results = TableVersion(table, values, layout.results.location)
    else:
        staged = schema(ports, layout.staging)
        added = pa.schema([f for f in values if f.name != key])
        join = Join(key, layout.staging.location, staged, values)
        results = TableVersion(table, pa.schema([*staged, *added]), layout.results.location, join)
    return results, TableVersion(rejects_table(table), rejects, layout.rejects.location)


def schema(ports: Ports, table: TableRef) -> pa.Schema:
    return ports.engine.table_schema(table)


def switch_to(
    ports: Ports, table: str, run_id: str, runs: list[str], *, fresh: bool, key: str | None = None
) -> Publication:
    """Make `run_id` the shown run of both tables and `runs` the kept ones (in publish order).
    `fresh`: read the run's schemas from its files (a publish, whose results join its staging
    table on the id column `key`), else from the pointer when it has them (a roll-back, which
    then needs no query; a run the pointer does not describe was published as one table)."""
    known = read_publication(ports.store, table).tables
    tables = {run: known[run] for run in runs if run in known and run != run_id}
    if fresh or run_id not in known:
        tables[run_id] = run_tables(ports, table, run_id, key if fresh else None)
    else:
        tables[run_id] = known[run_id]
    publication = Publication(runs=runs, shown_run=run_id, tables=tables)
    # The commit point: from here on, the next start finishes the switch if this process dies.
    ports.store.put(published_history_key(table), json.dumps(publication.to_json(), indent=1).encode())
    ports.catalog.publish_together(publication.shown)
    return publication


def follow_pointer(ports: Ports, table: str) -> list[str]:
    """Roll the catalog forward to what the pointer says, if a killed publish (or roll-back)
    left it behind. Returns the names of the tables switched."""
    behind = [t for t in read_publication(ports.store, table).shown if ports.catalog.location(t.name) != t.location]
    if behind:
        ports.catalog.publish_together(behind)
    return [t.name for t in behind]


def protected_locations(ports: Ports, table: str) -> set[str]:
    """Locations no cleanup may delete: what the catalog's two tables point at, what the pointer
    says they show (the same, unless a publish was cut short), and every location a kept run's
    tables read (a kept run's staging table is part of its results)."""
    pointed = {ports.catalog.location(name) for name in (table, rejects_table(table))}
    publication = read_publication(ports.store, table)
    named = {location for t in publication.shown for location in t.locations} | publication.kept_locations
    return {location for location in pointed | named if location}
