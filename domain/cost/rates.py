"""Measured rates: how fast each stage ran on a known machine, and how big its tables were.

The benchmark (`python -m benchmarks ... --write-rates`, benchmarks/rates.py) measures them
and writes them, with the machine they ran on, to a versioned file that the entrypoints load
and hand to the cost model as a plain mapping. Nothing here reads a file; every figure the
plan uses carries where it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.errors import SpecError

RATES_VERSION = 1
# What drives each stage's time (a count the run reports), or None: the stage's time is fixed.
STAGE_UNITS: dict[str, str | None] = {
    "pre_cleanup": None,
    "staging": "source_lines",
    "features": "feature_rows",
    # The fit works on a capped sample, but finding the sample reads every feature row.
    "training": "feature_rows",
    "batch_planning": "feature_rows",
    "results_table": None,
    "aggregation": "staged_rows",
    "publish": None,
    "cleanup": "source_lines",
}
TABLES = ("raw", "line_index", "rejects", "staging", "features", "scoring", "predictions", "results")


@dataclass(frozen=True)
class StageRate:
    """seconds = fixed_seconds + seconds_per_unit * units, on the measuring machine with all of
    its cores; `core_seconds_per_unit` is the same work counted per core (for other machines)."""

    unit: str | None
    fixed_seconds: float
    seconds_per_unit: float
    cores: int

    @property
    def core_seconds_per_unit(self) -> float:
        return self.seconds_per_unit * self.cores


@dataclass(frozen=True)
class Machine:
    cores: int
    cpu_model: str
    memory_bytes: int
    load_average: tuple[float, ...]
    versions: Mapping[str, str]


@dataclass(frozen=True)
class DataProfile:
    """The measured data's shape: the plan assumes a source of the same shape (the spec's
    own source's line size replaces bytes_per_line when the plan samples it)."""

    example: str
    bytes_per_line: float
    rejected_fraction: float
    labelled_fraction: float  # of the staged rows that have features


@dataclass(frozen=True)
class Rates:
    measured_at: str
    command: str
    machine: Machine
    profile: DataProfile
    stages: Mapping[str, StageRate]
    scoring_rows_per_second_per_core: float  # one prediction task, one thread, reading and writing
    task_overhead_seconds: float  # a prediction task's own cost beyond its rows (warm runner)
    interpreter_start_seconds: float  # the same in a fresh interpreter, as a container starts one
    ingest_lines_per_second_per_core: float  # lines -> raw Parquet on one core (the ingest fan-out's work)
    raw_bytes_per_source_byte: float  # the raw table's Parquet against the JSON it came from
    local_ingest_seconds_per_line: float  # the local engine's ingest, all cores: part of its staging stage
    table_bytes_per_row: Mapping[str, float]  # per the count that table holds (see TABLE_ROWS)
    provenance: str = ""  # where the figures come from, when not all from one benchmark run

    def describe(self) -> str:
        m = self.machine
        where = self.provenance or f"measured {self.measured_at} by `{self.command}`"
        return (
            f"{where}; {m.cores} cores ({m.cpu_model}), {self.profile.example} data, "
            f"{self.profile.bytes_per_line:,.0f} bytes per line"
        )


# Which count each table's bytes are measured per.
TABLE_ROWS = {
    "raw": "source_lines",
    "line_index": "source_lines",
    "rejects": "rejected_rows",
    "staging": "staged_rows",
    "features": "feature_rows",
    "scoring": "scoring_rows",
    "predictions": "scoring_rows",
    "results": "staged_rows",
}


def _number(data: Mapping[str, Any], key: str, where: str) -> float:
    value = data.get(key)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        raise SpecError(f"{where}: {key} must be a non-negative number, not {value!r}")
    return float(value)


def _section(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise SpecError(f"{where}: [{key}] is missing")
    return value


def rates_from_mapping(data: Mapping[str, Any], where: str) -> Rates:
    """Validated Rates from the rates file's parsed content; `where` names the file in errors."""
    if data.get("version") != RATES_VERSION:
        raise SpecError(f"{where}: version {data.get('version')!r}, this batchml reads version {RATES_VERSION}")
    machine = _section(data, "machine", where)
    cores = int(_number(machine, "cores", f"{where} [machine]"))
    if cores < 1:
        raise SpecError(f"{where} [machine]: cores must be at least 1")
    stages_data = _section(data, "stages", where)
    missing = sorted(set(STAGE_UNITS) - set(stages_data))
    if missing:
        raise SpecError(f"{where} [stages]: no rate for {missing}")
    stages = {
        name: StageRate(
            unit=STAGE_UNITS[name],
            fixed_seconds=_number(stages_data[name], "fixed_seconds", f"{where} [stages.{name}]"),
            seconds_per_unit=_number(stages_data[name], "seconds_per_unit", f"{where} [stages.{name}]"),
            cores=cores,
        )
        for name in STAGE_UNITS
    }
    profile = _section(data, "profile", where)
    prediction = _section(data, "prediction", where)
    ingest = _section(data, "ingest", where)
    table_bytes = _section(data, "table_bytes_per_row", where)
    missing_tables = sorted(set(TABLES) - set(table_bytes))
    if missing_tables:
        raise SpecError(f"{where} [table_bytes_per_row]: no size for {missing_tables}")
    return Rates(
        measured_at=str(data.get("measured_at", "?")),
        command=str(data.get("command", "?")),
        machine=Machine(
            cores=cores,
            cpu_model=str(machine.get("cpu_model", "unknown")),
            memory_bytes=int(machine.get("memory_bytes", 0)),
            load_average=tuple(float(x) for x in machine.get("load_average", ())),
            versions={str(k): str(v) for k, v in dict(machine.get("versions", {})).items()},
        ),
        profile=DataProfile(
            example=str(profile.get("example", "?")),
            bytes_per_line=_number(profile, "bytes_per_line", f"{where} [profile]"),
            rejected_fraction=_number(profile, "rejected_fraction", f"{where} [profile]"),
            labelled_fraction=_number(profile, "labelled_fraction", f"{where} [profile]"),
        ),
        stages=stages,
        scoring_rows_per_second_per_core=_number(prediction, "rows_per_second_per_core", f"{where} [prediction]"),
        task_overhead_seconds=_number(prediction, "task_overhead_seconds", f"{where} [prediction]"),
        interpreter_start_seconds=_number(prediction, "interpreter_start_seconds", f"{where} [prediction]"),
        ingest_lines_per_second_per_core=_number(ingest, "lines_per_second_per_core", f"{where} [ingest]"),
        raw_bytes_per_source_byte=_number(ingest, "raw_bytes_per_source_byte", f"{where} [ingest]"),
        local_ingest_seconds_per_line=_number(ingest, "local_seconds_per_line", f"{where} [ingest]"),
        table_bytes_per_row={t: _number(table_bytes, t, f"{where} [table_bytes_per_row]") for t in TABLES},
        provenance=str(data.get("provenance", "")),
    )
