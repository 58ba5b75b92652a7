"""Rates and specs for the cost model's unit tests: round numbers, so expectations can be
worked out by hand (the real, measured rates are adapters/shared/rates.json)."""

from __future__ import annotations

from typing import Any

from domain.cost.rates import STAGE_UNITS, TABLES, Rates, rates_from_mapping
from domain.spec import PipelineSpec


def rates_mapping(**changes: Any) -> dict[str, Any]:
    stages = {
        name: {"fixed_seconds": 0.5, "seconds_per_unit": 1e-6 if unit else 0.0} for name, unit in STAGE_UNITS.items()
    }
    data: dict[str, Any] = {
        "version": 1,
        "measured_at": "2026-12-01T00:00:00Z",
        "command": "python -m benchmarks --rows 1000000",
        "machine": {"cores": 2, "cpu_model": "test CPU", "memory_bytes": 8 << 30, "load_average": [0.1]},
        "profile": {"example": "test", "bytes_per_line": 1000.0, "rejected_fraction": 0.01, "labelled_fraction": 0.5},
        "stages": stages,
        "prediction": {
            "rows_per_second_per_core": 100_000.0,
            "task_overhead_seconds": 0.1,
            "interpreter_start_seconds": 1.5,
        },
        "ingest": {
            "lines_per_second_per_core": 200_000.0,
            "raw_bytes_per_source_byte": 0.25,
            "local_seconds_per_line": 2e-7,
        },
        "table_bytes_per_row": dict.fromkeys(TABLES, 100.0),
    }
    data.update(changes)
    return data


def rates(**changes: Any) -> Rates:
    return rates_from_mapping(rates_mapping(**changes), "test rates")


def spec(max_concurrency: int = 2, rows_per_batch: int = 250_000, max_batches: int = 10_000) -> PipelineSpec:
    return PipelineSpec.model_validate(
        {
            "pipeline": {"name": "age", "backend": "aws"},
            "source": {"path": "s3://bucket/source/"},
            "sql": {
                "staging": "staging.sql",
                "features": "features.sql",
                "staging_sql": "SELECT * FROM {{ source }}",
                "features_sql": "SELECT * FROM {{ staging }}",
            },
            "model": {"label": "age"},
            "batches": {
                "rows_per_batch": rows_per_batch,
                "max_concurrency": max_concurrency,
                "max_batches": max_batches,
            },
            "output": {"root": "s3://bucket/lake", "table": "age_predictions"},
        }
    )
