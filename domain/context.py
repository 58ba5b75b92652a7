"""What every stage service receives: the spec, the run, and the ports to act through."""

from __future__ import annotations

from dataclasses import dataclass

from domain.layout import RunLayout
from domain.ports import Catalog, EventLog, ObjectStore, RunStore, SqlEngine
from domain.spec import PipelineSpec


@dataclass(frozen=True)
class Ports:
    engine: SqlEngine
    store: ObjectStore
    catalog: Catalog
    run_store: RunStore
    events: EventLog


@dataclass(frozen=True)
class RunContext:
    spec: PipelineSpec
    run_id: str
    ports: Ports

    @property
    def layout(self) -> RunLayout:
        return RunLayout(self.run_id, self.spec.output.table)

    @property
    def id_column(self) -> str:
        return self.spec.source.id_field

    @property
    def label(self) -> str:
        return self.spec.model.label
