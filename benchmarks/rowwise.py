"""The seed's approach to scoring, for comparison: one record at a time, in plain Python.

What the seed's prediction container did per record, reproduced plainly: `json.loads` the
line, parse the nested `education` JSON string, compute every feature of
examples/age/features.sql in Python, put the row in a one-row pandas DataFrame, and call the
trained model's `predict` on it (point value plus interval, as `TrainedModel.predict` gives).
Single core (the caller sets OMP_NUM_THREADS=1). Choosing the sample is not timed; the loop
over the sample is. The predictions are checked against the floor's, row by row, so the
Python copy of the features is known to agree with the SQL.

Run as `python -m benchmarks.rowwise --spec SPEC --model M.joblib --rows N --report FILE.json`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from adapters.shared.source_files import source_files
from domain.ml.model import TrainedModel
from entrypoints.spec_loader import load_spec

REFERENCE_YEAR = 2025


def _int(value: Any) -> int | None:
    """TRY_CAST(... AS integer) of a JSON scalar."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    """json_extract_scalar: scalars as text, NULL for null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _degree(raw: str | None) -> str | None:
    if raw is None:
        return None
    if "high school" in raw:
        return "high_school"
    if raw.startswith("bachelor") or raw in ("bsc", "ba", "b.eng."):
        return "bachelor"
    if raw.startswith("master") or raw in ("msc", "mba", "m.eng."):
        return "master"
    if "phd" in raw or raw.startswith("doctor"):
        return "phd"
    if raw.startswith("associate") or "vocational" in raw or raw == "hnd":
        return "associate"
    return "certificate"


def _field(items: list[Any], index: int, key: str) -> Any:
    item = items[index] if 0 <= index < len(items) else None
    return item.get(key) if isinstance(item, dict) else None


def features_of(record: dict[str, Any]) -> dict[str, Any]:
    """examples/age/staging.sql and features.sql, for one record, the way a per-row container
    would write them."""
    try:
        education = json.loads(record["education"]) if isinstance(record.get("education"), str) else None
    except json.JSONDecodeError:
        education = None
    work = record.get("work_experience")
    jobs = work if isinstance(work, list) else []
    schools = education if isinstance(education, list) else []
    n_jobs, n_edu = len(jobs), len(schools)
    connections = _int(record.get("connection_count"))
    latest_start = _int(_field(jobs, 0, "start_year"))
    first_start = _int(_field(jobs, n_jobs - 1, "start_year")) if n_jobs else None
    first_edu_start = _int(_field(schools, n_edu - 1, "start_year")) if n_edu else None
    first_edu_end = _int(_field(schools, n_edu - 1, "end_year")) if n_edu else None
    latest_edu_end = _int(_field(schools, 0, "end_year"))
    latest_raw = _text(_field(schools, 0, "degree"))
    first_raw = _text(_field(schools, n_edu - 1, "degree")) if n_edu else None

    def since(year: int | None) -> int | None:
        return None if year is None else REFERENCE_YEAR - year

    skills, emails = record.get("skills"), record.get("emails")
    return {
        "job_level": _text(record.get("job_level")),
        "industry": _text(record.get("industry")),
        "company_size": _text(record.get("company_size")),
        "connection_count": connections,
        "connections_capped": 1 if connections is not None and connections >= 500 else 0,
        "n_skills": len(skills) if isinstance(skills, list) else 0,
        "n_emails": len(emails) if isinstance(emails, list) else 0,
        "n_jobs": n_jobs,
        "n_education": n_edu,
        "has_education": 1 if n_edu else 0,
        "currently_employed": 1 if n_jobs and _field(jobs, 0, "end_year") is None else 0,
        "years_since_first_job": since(first_start),
        "years_in_latest_job": since(latest_start),
        "years_per_job": (REFERENCE_YEAR - first_start) / n_jobs if n_jobs and first_start is not None else None,
        "years_since_first_education": since(first_edu_start),
        "years_since_first_graduation": since(first_edu_end),
        "years_since_latest_graduation": since(latest_edu_end),
        "first_degree": _degree(first_raw.lower() if first_raw else None),
        "latest_degree": _degree(latest_raw.lower() if latest_raw else None),
    }


def sample_lines(spec_file: Path, rows: int, id_field: str, label: str) -> list[str]:
    """The first `rows` unlabelled records that staging would keep (valid, with an id seen
    for the first time), in file order. Not timed."""
    seen: set[str] = set()
    picked: list[str] = []
    for path in source_files(load_spec(spec_file).source.path):
        with path.open(encoding="utf-8") as stream:
            for line in stream:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if not isinstance(record, dict) or record.get(id_field) is None:
                    continue
                key = _text(record[id_field]) or ""
                if key in seen:
                    continue
                seen.add(key)
                if record.get(label) is None:
                    picked.append(line)
                    if len(picked) == rows:
                        return picked
    return picked


def score_rowwise(lines: list[str], model: TrainedModel, id_field: str) -> dict[str, Any]:
    names = model.features.names
    parse = frame_build = predict = 0.0
    values: dict[str, float] = {}
    began = time.perf_counter()
    for line in lines:
        t0 = time.perf_counter()
        record = json.loads(line)
        row = features_of(record)
        t1 = time.perf_counter()
        frame = pd.DataFrame([row], columns=names)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        t2 = time.perf_counter()
        predicted = model.predict(table)
        t3 = time.perf_counter()
        values[str(_text(record[id_field]))] = float(predicted.column("value")[0].as_py())
        parse, frame_build, predict = parse + t1 - t0, frame_build + t2 - t1, predict + t3 - t2
    seconds = time.perf_counter() - began
    return {
        "rows": len(lines),
        "seconds": round(seconds, 3),
        "rows_per_second": round(len(lines) / seconds, 2) if seconds else None,
        "split_seconds": {
            "json_and_features": round(parse, 3),
            "dataframe": round(frame_build, 3),
            "predict": round(predict, 3),
        },
        "values": values,
    }


def agreement(values: dict[str, float], results: Path, id_field: str) -> dict[str, Any]:
    """Row-by-row predictions against the floor's for the same ids."""
    table = pq.read_table(results, columns=[id_field, "value"])
    wanted = pa.array(list(values))
    found = table.filter(pc.is_in(table.column(id_field), value_set=wanted)).to_pylist()
    close = sum(1 for r in found if abs(values[r[id_field]] - r["value"]) <= 1e-6)
    return {"compared": len(found), "equal": close}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rowwise", description=__doc__)
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True, help="a TrainedModel (model.joblib)")
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--report", type=Path, required=True)
    parser.add_argument("--check", type=Path, help="the floor's results Parquet, to compare predictions with")
    args = parser.parse_args(argv)
    spec = load_spec(args.spec)
    model = TrainedModel.from_bytes(args.model.read_bytes())
    lines = sample_lines(args.spec, args.rows, spec.source.id_field, spec.model.label)
    report = score_rowwise(lines, model, spec.source.id_field)
    values = report.pop("values")
    if args.check:
        report["agreement_with_floor"] = agreement(values, args.check, spec.source.id_field)
    args.report.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
