"""The composition root: the one module that knows both the domain and the adapters.

`config.backend` selects the adapter set once, here; nothing downstream asks which
backend it is on.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
from dependency_injector import containers, providers
from rich.console import Console

from adapters.local.duckdb_catalog import DuckDBCatalog
from adapters.local.duckdb_engine import DuckDBSqlEngine
from adapters.local.filesystem_store import FilesystemObjectStore
from adapters.local.jsonl_event_log import FanOutEventLog, run_event_log
from adapters.local.orchestrator import LocalOrchestrator
from adapters.local.progress import RichProgressEventLog
from adapters.local.subprocess_runner import SubprocessTaskRunner
from adapters.shared.object_store_run_store import ObjectStoreRunStore
from domain.context import Ports, RunContext
from domain.errors import SpecError
from domain.graph import build_graph
from domain.ports.event_log import EventLog
from domain.spec import PipelineSpec
from entrypoints.settings import Settings

BACKENDS = ("local",)
TASK_RUNNERS = ("subprocess",)


class Container(containers.DeclarativeContainer):
    config = providers.Configuration()

    root = providers.Singleton(Path, config.output_root)

    object_store = providers.Selector(
        config.backend,
        local=providers.Singleton(FilesystemObjectStore, root=root),
    )
    sql_engine = providers.Selector(
        config.backend,
        local=providers.Singleton(
            DuckDBSqlEngine, root=root, threads=config.duckdb_threads, memory_limit=config.duckdb_memory_limit
        ),
    )
    catalog = providers.Selector(
        config.backend,
        local=providers.Singleton(DuckDBCatalog, root=root),
    )
    run_store = providers.Singleton(ObjectStoreRunStore, store=object_store)
    event_log = providers.Selector(
        config.backend,
        local=providers.Factory(run_event_log, root=root),
    )
    task_runner = providers.Selector(
        config.task_runner,
        subprocess=providers.Singleton(
            SubprocessTaskRunner, command=config.task_command, env=config.task_env, role_env=config.task_role_env
        ),
    )


def build_container(spec: PipelineSpec, settings: Settings, spec_file: Path) -> Container:
    backend = settings.backend or spec.pipeline.backend
    if backend not in BACKENDS:
        raise SpecError(f"backend {backend!r} is not available in this build (available: {list(BACKENDS)})")
    if settings.task_runner not in TASK_RUNNERS:
        raise SpecError(f"task runner {settings.task_runner!r} is not one of {list(TASK_RUNNERS)}")
    if "://" in spec.output.root:
        raise SpecError(f"[output] root: {spec.output.root} is a URI; the {backend} backend needs a local folder")
    container = Container()
    container.config.from_dict(
        {
            "backend": backend,
            "task_runner": settings.task_runner,
            "output_root": spec.output.root,
            "duckdb_threads": settings.duckdb_threads,
            "duckdb_memory_limit": settings.duckdb_memory_limit,
            "task_command": [sys.executable, "-m", "entrypoints.task_main", "--spec", str(spec_file.resolve())],
            "task_env": settings.task_environment(),
            "task_role_env": settings.thread_environment(spec.batches.max_concurrency),
        }
    )
    return container


def run_context(container: Container, spec: PipelineSpec, run_id: str, *displays: EventLog) -> RunContext:
    file_log = container.event_log(run_id=run_id)
    events: EventLog = FanOutEventLog(file_log, *displays) if displays else file_log
    ports = Ports(
        engine=container.sql_engine(),
        store=container.object_store(),
        catalog=container.catalog(),
        run_store=container.run_store(),
        events=events,
    )
    return RunContext(spec=spec, run_id=run_id, ports=ports)


def orchestrator(container: Container, ctx: RunContext) -> LocalOrchestrator:
    return LocalOrchestrator(ctx, build_graph(ctx.spec), container.task_runner())


def query_catalog(root: Path, sql: str) -> pa.Table:
    """Run a user's SQL (DuckDB dialect) over the local catalog's tables."""
    return DuckDBCatalog(root).query(sql)


def progress_display(stage_count: int, console: Console) -> RichProgressEventLog:
    return RichProgressEventLog(stage_count, console)
