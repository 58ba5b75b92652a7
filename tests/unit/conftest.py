from __future__ import annotations

from typing import Any

import pytest

from domain.context import Ports, RunContext
from domain.spec import PipelineSpec
from tests.unit.fakes import FakeCatalog, FakeEventLog, FakeObjectStore, FakeRunStore, FakeSqlEngine


def spec_data(**sections: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "pipeline": {"name": "demo"},
        "source": {"path": "/data/in"},
        "sql": {
            "staging": "staging.sql",
            "features": "features.sql",
            "staging_sql": "SELECT json_extract_scalar(line, '$.id') AS id FROM {{ source }}",
            "features_sql": "SELECT id, label, x FROM {{ staging }}",
        },
        "model": {"label": "label", "min_labelled_rows": 10},
        "batches": {"rows_per_batch": 10},
        "output": {"root": "/out", "table": "results"},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return data


@pytest.fixture
def spec() -> PipelineSpec:
    return PipelineSpec.model_validate(spec_data())


@pytest.fixture
def ctx(spec: PipelineSpec) -> RunContext:
    ports = Ports(
        engine=FakeSqlEngine(),
        store=FakeObjectStore(),
        catalog=FakeCatalog(),
        run_store=FakeRunStore(),
        events=FakeEventLog(),
    )
    return RunContext(spec=spec, run_id="run-1", ports=ports)
