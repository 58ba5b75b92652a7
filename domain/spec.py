"""The pipeline spec: what a user writes (TOML) to run batchml on their own JSON data.

This module validates an already-parsed mapping; reading the TOML and the SQL files is the
entrypoints' job (see `entrypoints/spec_loader.py`). Every section forbids unknown keys, so a
typo is an error that names the key instead of a setting silently ignored.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.identifiers import check_identifier

STAGE_NAMES = (
    "pre_cleanup",
    "staging",
    "features",
    "training",
    "batch_planning",
    "results_table",
    "prediction",
    "aggregation",
    "publish",
    "cleanup",
)

PLACEHOLDER = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RetrySpec(_Section):
    """Retry and timeout of one stage; the same numbers drive the local orchestrator and Step Functions."""

    max_attempts: Annotated[int, Field(ge=1, le=20)] = 3
    interval_seconds: Annotated[float, Field(ge=0, le=3600)] = 1.0
    backoff_rate: Annotated[float, Field(ge=1.0, le=10.0)] = 2.0
    max_delay_seconds: Annotated[float, Field(gt=0, le=86400)] = 60.0
    jitter: Literal["full", "none"] = "full"
    timeout_seconds: Annotated[int, Field(ge=1, le=86400)] = 3600


class PipelineSection(_Section):
    name: str
    # "hybrid": local orchestration and DuckDB, over a data lake in S3 (tests the S3 paths
    # against an emulator).
    backend: Literal["local", "aws", "hybrid"] = "local"

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_identifier(v, "pipeline name")


class SourceSection(_Section):
    """Where the raw JSON lines are: a folder, a glob, or an s3:// prefix (resolved by the loader)."""

    path: str
    id_field: str = "id"
    max_reject_ratio: Annotated[float, Field(ge=0.0, le=1.0)] = 0.01
    # On AWS each ingest item is one Lambda invocation: a plain file larger than this is read in
    # ranges of at most this size, so no invocation grows with the data (adapters/aws/limits.py
    # checks the worst item against Lambda's 900 s at the measured ingest rate).
    ingest_item_mb: Annotated[int, Field(ge=1, le=10_240)] = 1024
    # Ingest items at once on AWS (Lambda invocations of the ingest Map).
    ingest_concurrency: Annotated[int, Field(ge=1, le=1000)] = 100

    @field_validator("id_field")
    @classmethod
    def _id(cls, v: str) -> str:
        return check_identifier(v, "id field")


class SqlSection(_Section):
    """The two SELECTs, in the Athena (Trino) dialect. The loader puts the file text in `*_sql`."""

    staging: str
    features: str
    staging_sql: str = ""
    features_sql: str = ""


class ModelSection(_Section):
    label: str
    estimator: Literal["lightgbm", "hist_gradient_boosting", "ridge"] = "lightgbm"
    params: dict[str, int | float | str | bool] = Field(default_factory=dict)
    interval_coverage: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.8
    training_sample_cap: Annotated[int, Field(ge=10)] = 200_000
    holdout_fraction: Annotated[float, Field(gt=0.0, lt=0.9)] = 0.2
    min_labelled_rows: Annotated[int, Field(ge=10)] = 100
    # A quality gate: a model whose holdout R² falls below this fails the run before anything
    # is scored, so the published results keep the last good model's predictions.
    min_holdout_r2: Annotated[float, Field(le=1.0)] | None = None
    seed: int = 42

    @field_validator("label")
    @classmethod
    def _label(cls, v: str) -> str:
        return check_identifier(v, "label column")


class BatchSection(_Section):
    rows_per_batch: Annotated[int, Field(ge=1, le=50_000_000)] = 100_000
    max_concurrency: Annotated[int, Field(ge=1, le=10_000)] = 2
    max_batches: Annotated[int, Field(ge=1, le=100_000)] = 10_000


# Names batchml uses itself: the local catalog's own table, its internal prefixes and separator
# (DuckDB's bound inputs `__in_*`, Athena's working tables `<table>__<digest>`), and the run
# tables `batchml query --run` shows by name. A results table must not take one of them.
RESERVED_TABLE_PREFIXES = ("batchml_",)
RUN_TABLE_NAMES = (
    "raw",
    "line_index",
    "rejected_lines",
    "staging",
    "rejects",
    "features",
    "scoring",
    "predictions",
)
# The rejects table adds "_rejects" and must stay within the 128 characters of an identifier.
MAX_TABLE_NAME = 120


def check_table_name(name: str) -> str:
    """`name` if a results table may have it; ValueError saying why not."""
    if name.startswith(RESERVED_TABLE_PREFIXES) or "__" in name or name.startswith("_"):
        raise ValueError(
            f"results table name {name!r} is reserved for batchml's own tables (names starting with "
            f"{RESERVED_TABLE_PREFIXES[0]!r} or '_', or holding '__'): choose another"
        )
    if name in RUN_TABLE_NAMES:
        raise ValueError(f"results table name {name!r} is the name of a run's own table in `batchml query --run`")
    if len(name) > MAX_TABLE_NAME:
        raise ValueError(f"results table name is {len(name)} characters long; at most {MAX_TABLE_NAME}")
    return name


class OutputSection(_Section):
    root: str
    table: str
    keep_published_runs: Annotated[int, Field(ge=1, le=1000)] = 3
    keep_intermediates: bool = False

    @field_validator("table")
    @classmethod
    def _table(cls, v: str) -> str:
        return check_table_name(check_identifier(v, "results table name"))


class PipelineSpec(_Section):
    pipeline: PipelineSection
    source: SourceSection
    sql: SqlSection
    model: ModelSection
    batches: BatchSection = Field(default_factory=BatchSection)
    output: OutputSection
    retry: dict[str, RetrySpec] = Field(default_factory=dict)

    @field_validator("retry")
    @classmethod
    def _retry_stages(cls, v: dict[str, RetrySpec]) -> dict[str, RetrySpec]:
        unknown = sorted(set(v) - {"default", *STAGE_NAMES})
        if unknown:
            raise ValueError(f"unknown stage(s) {unknown} in [retry]; use 'default' or one of {list(STAGE_NAMES)}")
        return v

    @model_validator(mode="after")
    def _sql_placeholders(self) -> PipelineSpec:
        _check_placeholders(self.sql.staging, self.sql.staging_sql, {"source"})
        _check_placeholders(self.sql.features, self.sql.features_sql, {"staging"})
        return self

    def retry_for(self, stage: str) -> RetrySpec:
        """The stage's own policy, falling back to [retry.default], then to built-in defaults."""
        base = self.retry.get("default", RetrySpec())
        own = self.retry.get(stage)
        if own is None:
            return base
        merged = base.model_dump() | own.model_dump(exclude_unset=True)
        return RetrySpec(**merged)

    def fingerprints(self) -> dict[str, str]:
        """A hash per part of the spec that decides the results, so a refused resume can say
        what changed. The backend is left out: the same run may resume elsewhere."""
        payload = self.model_dump(mode="json", exclude={"pipeline": {"backend"}})
        sql = payload.pop("sql")
        parts = {name: value for name, value in payload.items()}
        parts[f"SQL file {sql['staging']}"] = sql["staging_sql"]
        parts[f"SQL file {sql['features']}"] = sql["features_sql"]
        return {name: _hash(value) for name, value in sorted(parts.items())}

    def differences(self, other: PipelineSpec) -> list[str]:
        """The parts that decide the results and differ between two specs. SQL files are compared
        by role and text, not by name: a run's copy of its spec may name them differently."""

        def parts(spec: PipelineSpec) -> dict[str, str]:
            kept = {k: v for k, v in spec.fingerprints().items() if not k.startswith("SQL file ")}
            return kept | {"staging SQL": _hash(spec.sql.staging_sql), "features SQL": _hash(spec.sql.features_sql)}

        mine, theirs = parts(self), parts(other)
        return sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))

    def fingerprint(self) -> str:
        """One hash of everything that decides the results: settings and SQL text."""
        return _hash(self.fingerprints())


def _hash(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def _check_placeholders(file_name: str, sql: str, allowed: set[str]) -> None:
    if not sql.strip():
        raise ValueError(f"SQL file {file_name} is empty")
    used = set(PLACEHOLDER.findall(sql))
    unknown = used - allowed
    if unknown:
        raise ValueError(
            f"SQL file {file_name} refers to unknown table(s) {sorted(unknown)}; "
            f"it may use {sorted('{{ ' + a + ' }}' for a in allowed)}"
        )
    if not used:
        raise ValueError(f"SQL file {file_name} must read from {sorted('{{ ' + a + ' }}' for a in allowed)}")
