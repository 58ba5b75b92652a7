"""Ports: the abstract roles the domain needs from the outside world, one per module."""

from domain.ports.catalog import Catalog, TableVersion
from domain.ports.event_log import EventLog
from domain.ports.object_store import ObjectInfo, ObjectStore
from domain.ports.run_store import RunStore
from domain.ports.sql_engine import IngestItem, IngestStats, QueryStats, SqlEngine, TableRef
from domain.ports.task_runner import TaskOutcome, TaskRunner, TaskSpec

__all__ = [
    "Catalog",
    "EventLog",
    "IngestItem",
    "IngestStats",
    "ObjectInfo",
    "ObjectStore",
    "QueryStats",
    "RunStore",
    "SqlEngine",
    "TableRef",
    "TableVersion",
    "TaskOutcome",
    "TaskRunner",
    "TaskSpec",
]
