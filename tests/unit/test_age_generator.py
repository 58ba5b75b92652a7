"""Tests for the age example: the synthetic generator and its two SQL files.

The SQL files are written in the Athena dialect and run here the way the
pipeline runs them locally: placeholders replaced, transpiled by sqlglot to
DuckDB, executed against a table of raw lines.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import sqlglot
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import r2_score
from sqlglot.errors import ErrorLevel

from examples.age.generate import (
    CHUNK_ROWS,
    COMPANY_SIZES,
    INDUSTRIES,
    JOB_LEVELS,
    GenerateReport,
    generate,
    main,
)

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "age"
ID_PATTERN = re.compile(r"^p\d{9}$")


def _lines(files: list[Path]) -> list[str]:
    lines: list[str] = []
    for path in files:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            lines.extend(fh.read().splitlines())
    return lines


def _concatenated(files: list[Path]) -> bytes:
    return b"".join(path.read_bytes() for path in files)


def _parse(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None


def _transpile(name: str, **tables: str) -> str:
    sql = (EXAMPLE_DIR / f"{name}.sql").read_text()
    for placeholder, table in tables.items():
        sql = sql.replace("{{ " + placeholder + " }}", table)
    # RAISE: fail if sqlglot cannot express an Athena construct in DuckDB.
    statements = sqlglot.transpile(sql, read="athena", write="duckdb", unsupported_level=ErrorLevel.RAISE)
    assert len(statements) == 1
    return statements[0]


def _numbered_lines(files: list[Path]) -> list[tuple[str, int, str]]:
    """(file name, 1-based line number, line) for every line of ``files``."""
    return [(path.name, number, line) for path in files for number, line in enumerate(_lines([path]), start=1)]


def _load_source(con: duckdb.DuckDBPyConnection, numbered: Sequence[tuple[str, int, str]]) -> int:
    """Register ``source_lines`` the way the pipeline feeds staging: only
    valid JSON objects with a non-null id, plus their file and line number."""
    kept = [entry for entry in numbered if (record := _parse(entry[2])) is not None and record.get("id") is not None]
    table = pa.table(
        {
            "line": [line for _, _, line in kept],
            "source_file": [name for name, _, _ in kept],
            "line_number": pa.array([number for _, number, _ in kept], type=pa.int64()),
        }
    )
    con.register("source_lines", table)
    return len(kept)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> GenerateReport:
    return generate(tmp_path_factory.mktemp("age"), 20_000, seed=7, rows_per_file=8_000)


@pytest.fixture(scope="module")
def numbered(dataset: GenerateReport) -> list[tuple[str, int, str]]:
    return _numbered_lines(dataset.files)


@pytest.fixture(scope="module")
def records(numbered: list[tuple[str, int, str]]) -> list[dict[str, Any]]:
    parsed = [_parse(line) for _, _, line in numbered]
    assert all(record is not None for record in parsed)
    return [record for record in parsed if record is not None]


# --------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------


def test_files_are_split_by_rows_per_file(dataset: GenerateReport) -> None:
    assert [path.name for path in dataset.files] == [
        "profiles-00000.jsonl",
        "profiles-00001.jsonl",
        "profiles-00002.jsonl",
    ]
    assert [len(_lines([path])) for path in dataset.files] == [8_000, 8_000, 4_000]
    assert dataset.rows == 20_000
    assert dataset.malformed == 0


def test_ids_are_unique_and_deterministic(records: list[dict[str, Any]]) -> None:
    ids = [record["id"] for record in records]
    assert ids == [f"p{i:09d}" for i in range(len(records))]
    assert all(ID_PATTERN.match(i) for i in ids[:10])


def test_about_three_eighths_are_labelled(dataset: GenerateReport, records: list[dict[str, Any]]) -> None:
    labelled = sum(record.get("age") is not None for record in records)
    assert labelled == dataset.labelled
    assert abs(labelled / len(records) - 0.375) < 0.03
    # Unlabelled people mostly carry "age": null, some omit the key.
    missing_key = sum("age" not in record for record in records)
    explicit_null = sum("age" in record and record["age"] is None for record in records)
    assert 0 < missing_key < explicit_null


def test_record_shape(records: list[dict[str, Any]]) -> None:
    reference = date(2025, 6, 30)
    for record in records[:2_000]:
        assert isinstance(record["full_name"], str) and record["full_name"]
        assert isinstance(record["headline"], str)
        assert isinstance(record["location"], str)
        assert record["industry"] in INDUSTRIES
        assert record["company_size"] in COMPANY_SIZES
        assert record["job_level"] is None or record["job_level"] in JOB_LEVELS
        assert isinstance(record["connection_count"], int) and record["connection_count"] >= 0
        assert 0 <= len(record["emails"]) <= 3 and all("@" in email for email in record["emails"])
        assert all(isinstance(skill, str) for skill in record["skills"])
        assert date.fromisoformat(record["profile_updated_at"]) <= reference
        for job in record["work_experience"]:
            assert set(job) == {"title", "company", "start_year", "end_year"}
            assert job["end_year"] is None or job["end_year"] >= job["start_year"]
        # Most recent job first.
        starts = [job["start_year"] for job in record["work_experience"]]
        assert starts == sorted(starts, reverse=True)
        # education is a string holding a JSON array (or null).
        if record["education"] is not None:
            assert isinstance(record["education"], str)
            for entry in json.loads(record["education"]):
                assert set(entry) == {"degree", "institution", "start_year", "end_year"}
        if record.get("age") is not None:
            assert 18 <= record["age"] <= 75


def test_noise_is_present(records: list[dict[str, Any]]) -> None:
    """The messy parts the features must cope with actually occur."""
    assert any(record["connection_count"] == 500 for record in records)  # "500+"
    no_education = sum(not json.loads(record["education"] or "[]") for record in records)
    assert 0.12 < no_education / len(records) < 0.30
    assert any(record["education"] is None for record in records)
    assert any(not record["work_experience"] for record in records)
    assert any(record["job_level"] is None for record in records)
    current = [job for record in records for job in record["work_experience"][:1] if job["end_year"] is None]
    assert len(current) > len(records) // 2


def test_same_seed_same_bytes_regardless_of_chunking(tmp_path: Path, dataset: GenerateReport) -> None:
    first = generate(tmp_path / "a", 3_000, seed=3, rows_per_file=1_000, malformed_fraction=0.05)
    other_split = generate(tmp_path / "b", 3_000, seed=3, rows_per_file=777, malformed_fraction=0.05)
    assert len(other_split.files) == 4
    assert _concatenated(first.files) == _concatenated(other_split.files)
    assert (first.labelled, first.malformed) == (other_split.labelled, other_split.malformed)
    # dataset uses seed 7: another seed, other people.
    assert _lines(first.files)[0] != _lines(dataset.files)[0]


def test_shorter_run_is_a_prefix_across_chunks(tmp_path: Path, dataset: GenerateReport) -> None:
    # dataset: seed 7, 20_000 rows, so this cut falls inside its second chunk.
    short = generate(tmp_path, CHUNK_ROWS + 50, seed=7, rows_per_file=5_000)
    assert _concatenated(dataset.files).startswith(_concatenated(short.files))


def test_malformed_lines(tmp_path: Path) -> None:
    report = generate(tmp_path, 10_000, seed=11, rows_per_file=10_000, malformed_fraction=0.05)
    assert abs(report.malformed / report.rows - 0.05) < 0.01
    kinds: Counter[str] = Counter()
    seen: set[str] = set()
    labelled = 0
    for line in _lines(report.files):
        record = _parse(line)
        if record is None:
            kinds["truncated"] += 1
        elif record.get("id") is None:
            kinds["missing id" if "id" not in record else "null id"] += 1
        elif record["id"] in seen:
            kinds["duplicate"] += 1
        else:
            seen.add(record["id"])
            labelled += record.get("age") is not None
    assert set(kinds) == {"truncated", "missing id", "null id", "duplicate"}
    assert sum(kinds.values()) == report.malformed
    assert len(seen) == report.rows - report.malformed
    assert labelled == report.labelled


def test_gzip_output_matches_plain(tmp_path: Path, numbered: list[tuple[str, int, str]]) -> None:
    # numbered: the plain-text dataset of seed 7; gzip must not change the content.
    packed = generate(tmp_path / "packed", 1_500, seed=7, rows_per_file=1_000, gzip=True)
    assert [p.name for p in packed.files] == ["profiles-00000.jsonl.gz", "profiles-00001.jsonl.gz"]
    assert _lines(packed.files) == [line for _, _, line in numbered[:1_500]]
    # Byte-reproducible, gzip headers included.
    again = generate(tmp_path / "again", 1_500, seed=7, rows_per_file=1_000, gzip=True)
    assert [p.read_bytes() for p in again.files] == [p.read_bytes() for p in packed.files]


def test_zero_rows_writes_nothing(tmp_path: Path) -> None:
    assert generate(tmp_path, 0) == GenerateReport(files=[], rows=0, labelled=0, malformed=0)


@pytest.mark.parametrize(
    "kwargs",
    [{"rows": -1}, {"rows": 10, "rows_per_file": 0}, {"rows": 10, "malformed_fraction": 1.5}, {"rows": 10, "seed": -1}],
)
def test_invalid_arguments(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, **kwargs)


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--rows", "300", "--out", str(tmp_path), "--rows-per-file", "200", "--gzip"]) == 0
    output = capsys.readouterr().out
    assert output.startswith("wrote 300 rows (") and "2 file(s)" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["profiles-00000.jsonl.gz", "profiles-00001.jsonl.gz"]


# --------------------------------------------------------------------------
# SQL
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def features(numbered: list[tuple[str, int, str]]) -> pd.DataFrame:
    con = duckdb.connect()
    rows = _load_source(con, numbered)
    con.execute("CREATE TABLE staged AS " + _transpile("staging", source="source_lines"))
    assert con.sql("SELECT count(*) FROM staged").fetchall() == [(rows,)]
    frame: pd.DataFrame = con.execute(_transpile("features", staging="staged")).df()
    return frame


def test_staging_types_and_row_count(numbered: list[tuple[str, int, str]]) -> None:
    con = duckdb.connect()
    odd = [
        # Wrong types become NULL, garbled embedded JSON too; the row survives.
        '{"id":"x1","connection_count":"lots","age":"old","profile_updated_at":"yesterday","education":"[oops"}',
        '{"id":"x2","skills":null,"work_experience":"not an array"}',
    ]
    rows = _load_source(con, numbered[:2_000] + [("extra.jsonl", i, line) for i, line in enumerate(odd, start=1)])
    con.execute("CREATE TABLE staged AS " + _transpile("staging", source="source_lines"))
    staged = con.table("staged")
    types = dict(zip(staged.columns, map(str, staged.types), strict=True))
    assert types["id"] == "VARCHAR"
    assert types["age"] == "INTEGER"
    assert types["connection_count"] == "INTEGER"
    assert types["profile_updated_at"] == "DATE"
    assert types["line_number"] == "BIGINT"
    assert types["source_file"] == "VARCHAR"
    # The nested arrays are parsed once, into typed arrays of rows.
    assert types["emails"] == types["skills"] == "VARCHAR[]"
    assert types["work_experience"] == (
        "STRUCT(title VARCHAR, company VARCHAR, start_year INTEGER, end_year INTEGER)[]"
    )
    assert types["education"] == ("STRUCT(degree VARCHAR, institution VARCHAR, start_year INTEGER, end_year INTEGER)[]")
    records = {r["id"]: r for r in staged.to_arrow_table().to_pylist()}
    assert len(records) == rows
    source = {json.loads(line)["id"]: json.loads(line) for _f, _n, line in numbered[:2_000]}
    some_id, record = next((i, r) for i, r in source.items() if r["work_experience"] and r["education"] != "[]")
    assert records[some_id]["work_experience"] == record["work_experience"]  # every field, in order
    assert records[some_id]["education"] == json.loads(record["education"])  # unwrapped from its string
    bad = records["x1"]
    assert bad["connection_count"] is None and bad["age"] is None and bad["profile_updated_at"] is None
    assert bad["education"] is None
    assert records["x2"]["skills"] is None and records["x2"]["work_experience"] is None

    # The odd rows flow through features.sql too, with empty-array defaults.
    features = con.sql(_transpile("features", staging="staged")).df().set_index("id")
    assert len(features) == rows
    assert features.loc[["x1", "x2"], ["n_jobs", "n_skills", "n_education", "has_education"]].eq(0).all().all()
    assert features.loc[["x1", "x2"], "years_since_first_job"].isna().all()


def test_features_columns(features: pd.DataFrame) -> None:
    assert len(features) == 20_000
    assert features["id"].is_unique
    expected = {
        "id",
        "age",
        "job_level",
        "industry",
        "company_size",
        "connection_count",
        "n_jobs",
        "n_skills",
        "n_emails",
        "has_education",
        "years_since_first_job",
        "years_since_first_education",
    }
    assert expected <= set(features.columns)
    assert features["n_jobs"].min() == 0 and features["n_jobs"].max() <= 10
    assert features["years_since_first_job"].dropna().between(0, 70).all()


def test_features_predict_age_well_but_not_perfectly(features: pd.DataFrame) -> None:
    labelled = features[features["age"].notna()].copy()
    categorical = [c for c in labelled.columns if c != "id" and not pd.api.types.is_numeric_dtype(labelled[c])]
    for column in categorical:
        labelled[column] = labelled[column].astype("category")
    x = labelled.drop(columns=["id", "age"])
    numeric = [c for c in x.columns if c not in categorical]
    x[numeric] = x[numeric].astype("float64")  # nullable ints -> NaN, which the model handles
    y = labelled["age"].astype("float64")
    train = np.random.default_rng(0).random(len(labelled)) < 0.8
    model = HistGradientBoostingRegressor(categorical_features="from_dtype", random_state=0)
    model.fit(x[train], y[train])
    r2 = r2_score(y[~train], model.predict(x[~train]))
    assert 0.75 <= r2 <= 0.95, r2
