"""Runs on a real local lake (folder, DuckDB catalog, DuckDB engine) without the ML: each run's
aggregated results, rejects and intermediates written by hand, so publish, cleanup and
pre-cleanup can be driven (and killed) in a fraction of a second.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq

from adapters.local.duckdb_catalog import DuckDBCatalog
from adapters.local.duckdb_engine import DuckDBSqlEngine
from adapters.local.filesystem_store import FilesystemObjectStore
from adapters.shared.object_store_run_store import ObjectStoreRunStore
from domain.context import Ports, RunContext
from domain.ports.event_log import EventLog
from domain.run_state import RunState, StageRecord
from domain.spec import STAGE_NAMES, PipelineSpec

TABLE = "ages"


class ListEventLog(EventLog):
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def emit(self, event: str, **fields: Any) -> None:
        self.events.append({"event": event, **fields})


def lake_spec(root: Path | str, keep_published_runs: int = 2, source: str | None = None) -> PipelineSpec:
    return PipelineSpec.model_validate(
        {
            "pipeline": {"name": "crash"},
            "source": {"path": source or f"{root}/source"},
            "sql": {
                "staging": "staging.sql",
                "features": "features.sql",
                "staging_sql": "SELECT json_extract_scalar(line, '$.id') AS id FROM {{ source }}",
                "features_sql": "SELECT id, label FROM {{ staging }}",
            },
            "model": {"label": "label", "min_labelled_rows": 10},
            "output": {"root": str(root), "table": TABLE, "keep_published_runs": keep_published_runs},
        }
    )


def local_context(root: Path, run_id: str, keep_published_runs: int = 2) -> RunContext:
    store = FilesystemObjectStore(root)
    ports = Ports(
        engine=DuckDBSqlEngine(root, threads=1),
        store=store,
        catalog=DuckDBCatalog(root),
        run_store=ObjectStoreRunStore(store),
        events=ListEventLog(),
    )
    return RunContext(spec=lake_spec(root, keep_published_runs), run_id=run_id, ports=ports)


class Lake(Protocol):
    """Where a crash test's runs live: a folder with the DuckDB catalog, or S3 with Glue."""

    def new(self) -> None:
        """Create the lake's root and its source (an empty lake)."""

    def context(self, run_id: str) -> RunContext: ...

    def shown(self) -> tuple[set[str], set[str]]:
        """The runs the results and the rejects table show; fails unless both are queryable."""


@dataclass
class LocalLake:
    root: Path

    def new(self) -> None:
        (self.root / "source").mkdir(parents=True)
        (self.root / "source" / "in.jsonl").write_text('{"id": "1"}\n')

    def context(self, run_id: str) -> RunContext:
        return local_context(self.root, run_id)

    def shown(self) -> tuple[set[str], set[str]]:
        return shown_runs(self.root)


def parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def write_aggregated_run(ctx: RunContext, rows: int = 5) -> None:
    """What a run holds once aggregation verified it: results, rejects, intermediates, state."""
    store, layout, run = ctx.ports.store, ctx.layout, ctx.run_id
    ids = [f"{run}-{i}" for i in range(rows)]
    results = pa.table({"id": ids, "value": [float(i) for i in range(rows)], "run_id": [run] * rows})
    store.put(f"{layout.results.location}part-00000.parquet", parquet(results))
    rejects = pa.table({"source_file": ["in.jsonl"], "line_number": [1], "reason_code": ["invalid_json"]})
    store.put(f"{layout.rejects.location}part-00000.parquet", parquet(rejects))
    for table in layout.intermediate_tables:
        store.put(f"{table.location}part-00000.parquet", parquet(pa.table({"id": ids})))
    done = {name: StageRecord("SUCCEEDED", 1) for name in STAGE_NAMES[: STAGE_NAMES.index("aggregation") + 1]}
    ctx.ports.run_store.save(RunState(run, {}, 0.0, status="RUNNING", stages=done))


def shown_runs(root: Path) -> tuple[set[str], set[str]]:
    """The run ids the results table and the rejects table show (each must be queryable)."""
    catalog = DuckDBCatalog(root)
    results = catalog.query(f"SELECT DISTINCT run_id FROM {TABLE}").column("run_id").to_pylist()
    rejects_location = catalog.location(f"{TABLE}_rejects") or ""
    catalog.query(f"SELECT count(*) FROM {TABLE}_rejects")  # queryable: its files exist
    rejects = {part.split("/")[1] for part in [rejects_location] if part.startswith("runs/")}
    return set(results), rejects
