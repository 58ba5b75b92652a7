"""Hand-written fakes of the ports: they keep state in memory and record what happened.

Each subclasses its port, so a fake that misses a method fails at creation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from domain.ports import (
    Catalog,
    EventLog,
    IngestItem,
    ObjectInfo,
    ObjectStore,
    QueryStats,
    RunStore,
    SqlEngine,
    TableRef,
    TableVersion,
    TaskOutcome,
    TaskRunner,
    TaskSpec,
)
from domain.ports.run_store import LockHolder
from domain.run_state import RunState


class FakeObjectStore(ObjectStore):
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.versions: dict[str, int] = {}
        self._writes = 0

    def _written(self, key: str) -> None:
        self._writes += 1
        self.versions[key] = self._writes

    def get_versioned(self, key: str) -> tuple[bytes, str]:
        return self.objects[key], str(self.versions.get(key, 0))

    def put_if_version(self, key: str, data: bytes, version: str) -> bool:
        if key not in self.objects or str(self.versions.get(key, 0)) != version:
            return False
        self.put(key, data)
        return True

    def delete_if_version(self, key: str, version: str) -> bool:
        if key not in self.objects or str(self.versions.get(key, 0)) != version:
            return False
        self.delete(key)
        return True

    def put(self, key: str, data: bytes) -> None:
        self.objects[key] = bytes(data)
        self._written(key)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        if key in self.objects:
            return False
        self.put(key, data)
        return True

    def get(self, key: str) -> bytes:
        return self.objects[key]

    def get_range(self, key: str, start: int, length: int) -> bytes:
        return self.objects[key][start : start + length]

    def exists(self, key: str) -> bool:
        return key in self.objects

    def list(self, prefix: str) -> list[ObjectInfo]:
        return [ObjectInfo(k, len(v)) for k, v in sorted(self.objects.items()) if k.startswith(prefix)]

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def delete_prefix(self, prefix: str) -> int:
        doomed = [k for k in self.objects if k.startswith(prefix)]
        for key in doomed:
            del self.objects[key]
        return len(doomed)

    def reserve_space(self, key: str, size: int) -> None:
        self.put(key, b"")  # the fake never fills: only the key shows the reservation

    def remove_interrupted_writes(self, prefix: str) -> int:
        return 0  # every fake write is whole

    def uri(self, key: str) -> str:
        return f"fake://{key}"


Answer = Callable[[str, Mapping[str, TableRef]], pa.Table]


@dataclass
class FakeSqlEngine(SqlEngine):
    """Runs no SQL: each query is answered by the first rule whose pattern matches its text."""

    lines: int = 0
    items: int = 1  # ingest items the plan cuts the source into; `lines` are shared among them
    plans: int = 0
    rules: list[tuple[str, Answer]] = field(default_factory=list)
    materialized: list[tuple[TableRef, str]] = field(default_factory=list)
    # (target, the lines placeholder, the files named) of each materialize_lines call
    line_statements: list[tuple[TableRef, str, list[str] | None]] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    forgotten: list[TableRef] = field(default_factory=list)
    cancelled: int = 0
    rows_written: dict[str, int] = field(default_factory=dict)  # table folder -> rows its statement reports

    def answer(self, pattern: str, result: pa.Table | Answer) -> None:
        if callable(result):
            self.rules.append((pattern, result))
            return
        table = result

        def fixed(_sql: str, _inputs: Mapping[str, TableRef]) -> pa.Table:
            return table

        self.rules.append((pattern, fixed))

    def plan_ingest(self, source: str, max_item_bytes: int) -> list[IngestItem]:
        self.plans += 1
        return [IngestItem(i, f"{source}/part{i}.jsonl", self.lines * 100 // self.items) for i in range(self.items)]

    def _item_lines(self, index: int) -> int:
        return self.lines // self.items + (1 if index < self.lines % self.items else 0)

    def ingest_items(self, items: Sequence[IngestItem], target: TableRef) -> list[int]:
        self.materialized.extend((target, f"INGEST {item.source_file}") for item in items)
        return [self._item_lines(item.index) for item in items]

    def finish_ingest(self, items: Sequence[IngestItem], lines: Sequence[int], target: TableRef) -> None:
        return None

    def source_fingerprint(self, source: str) -> str:
        return f"files-of-{source}"

    def forget(self, table: TableRef) -> bool:
        self.forgotten.append(table)
        return True

    def cancel_running(self) -> int:
        self.cancelled += 1
        return 0

    def materialize(
        self,
        target: TableRef,
        sql: str,
        inputs: Mapping[str, TableRef],
        *,
        sql_name: str,
        valid_json: Collection[str] = (),
    ) -> QueryStats:
        self.materialized.append((target, sql))
        folder = target.location.rstrip("/").rsplit("/", 1)[-1]
        return QueryStats(rows=self.rows_written.get(folder), bytes_scanned=1000, seconds=0.0)

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
        self.line_statements.append((target, lines, None if files is None else sorted(files)))
        return self.materialize(target, sql, inputs, sql_name=sql_name, valid_json=valid_json)

    def table_schema(self, table: TableRef) -> pa.Schema:
        return self.query("SELECT * FROM {{ t }} LIMIT 0", {"t": table}, sql_name="schema").schema

    def query(self, sql: str, inputs: Mapping[str, TableRef], *, sql_name: str) -> pa.Table:
        self.queries.append(sql)
        for pattern, fn in self.rules:
            if re.search(pattern, sql, flags=re.S):
                return fn(sql, inputs)
        raise AssertionError(f"FakeSqlEngine has no answer for: {sql}")

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
        return self.query(sql, inputs, sql_name=sql_name).slice(0, rows)


class FakeCatalog(Catalog):
    def __init__(self) -> None:
        self.tables: dict[str, tuple[pa.Schema, str]] = {}
        self.published: list[tuple[str, str]] = []

    def ensure_table(self, name: str, schema: pa.Schema, location: str) -> bool:
        if name in self.tables:
            return False
        self.tables[name] = (schema, location)
        return True

    def publish_together(self, tables: Sequence[TableVersion]) -> None:
        for table in tables:
            self.tables[table.name] = (table.schema, table.location)
            self.published.append((table.name, table.location))

    def location(self, name: str) -> str | None:
        entry = self.tables.get(name)
        return entry[1] if entry else None

    def drop(self, name: str) -> None:
        self.tables.pop(name, None)


class FakeRunStore(RunStore):
    def __init__(self) -> None:
        self.states: dict[str, dict[str, Any]] = {}
        self.marks: dict[str, dict[int, int]] = {}
        self.seconds: dict[str, dict[int, float]] = {}
        self.lock: tuple[str, float, float] | None = None  # run, heartbeat, stale after

    def save(self, state: RunState) -> None:
        self.states[state.run_id] = state.to_json()

    def load(self, run_id: str) -> RunState | None:
        data = self.states.get(run_id)
        return RunState.from_json(data) if data else None

    def run_ids(self) -> list[str]:
        return sorted(self.states)

    def mark_batch(self, run_id: str, batch: int, rows: int, seconds: float | None = None) -> None:
        self.marks.setdefault(run_id, {})[batch] = rows
        if seconds is not None:
            self.seconds.setdefault(run_id, {})[batch] = seconds

    def batch_seconds(self, run_id: str) -> dict[int, float]:
        return dict(self.seconds.get(run_id, {}))

    def batch_marks(self, run_id: str) -> dict[int, int]:
        return dict(self.marks.get(run_id, {}))

    def batch_mark(self, run_id: str, batch: int) -> int | None:
        return self.marks.get(run_id, {}).get(batch)

    def acquire_lock(self, run_id: str, now: float, stale_after_seconds: float) -> str | None:
        if self.lock and self.lock[0] != run_id and now - self.lock[1] <= self.lock[2]:
            return self.lock[0]
        self.lock = (run_id, now, stale_after_seconds)
        return None

    def refresh_lock(self, run_id: str, now: float) -> bool:
        if not self.lock or self.lock[0] != run_id:
            return False
        self.lock = (run_id, now, self.lock[2])
        return True

    def release_lock(self, run_id: str) -> None:
        if self.lock and self.lock[0] == run_id:
            self.lock = None

    def lock_holder(self) -> LockHolder | None:
        return LockHolder(self.lock[0], self.lock[1], self.lock[2], "fake-host") if self.lock else None


class FakeEventLog(EventLog):
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def emit(self, event: str, **fields: Any) -> None:
        self.events.append({"event": event, **fields})

    def named(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == event]


class FakeTaskRunner(TaskRunner):
    """Each task's outcome comes from `script(task)`; every call is recorded."""

    def __init__(self, script: Callable[[TaskSpec], TaskOutcome] | None = None) -> None:
        self.calls: list[TaskSpec] = []
        self.log: list[str] = []  # task ids and the prepare/release hooks, in call order
        self.script = script or (lambda t: TaskOutcome(t.task_id, True, 0, "", 0.0))

    def run(self, task: TaskSpec, timeout_seconds: float) -> TaskOutcome:
        self.calls.append(task)
        self.log.append(task.task_id)
        return self.script(task)

    def prepare(self) -> None:
        self.log.append("<prepare>")

    def release(self) -> None:
        self.log.append("<release>")
