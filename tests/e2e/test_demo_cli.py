"""The demo end to end through the CLI: counts reconcile, the final table is complete and
unique, labelled records keep their labels."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.e2e.conftest import batchml, only_run_state, published


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("demo")
    result = batchml(
        "demo", "--rows", "4000", "--dir", str(directory), "--rows-per-batch", "800", "--malformed-fraction", "0.002"
    )
    assert "SUCCEEDED" in result.stdout and "holdout R²" in result.stdout
    return directory


def test_every_source_line_is_staged_or_rejected(demo: Path) -> None:
    report = only_run_state(demo / "lake")["stages"]["staging"]["report"]
    lines = sum(len(p.read_bytes().splitlines()) for p in (demo / "data").glob("profiles-*"))
    assert report["source_lines"] == lines == 4000
    assert report["staged_rows"] + report["rejected_rows"] == lines
    assert report["rejected_rows"] > 0


def test_final_table_holds_every_staged_id_once(demo: Path) -> None:
    state = only_run_state(demo / "lake")
    staged = state["stages"]["staging"]["report"]["staged_rows"]
    assert state["stages"]["batch_planning"]["report"]["batches"] >= 3
    with published(demo / "lake", "age_predictions") as db:
        n, ids, missing = db.execute(
            "SELECT count(*), count(DISTINCT id), count(*) FILTER (WHERE value IS NULL) FROM age_predictions"
        ).fetchone()  # type: ignore[misc]
        sources = dict(db.execute("SELECT value_source, count(*) FROM age_predictions GROUP BY 1").fetchall())
    assert n == ids == staged and missing == 0
    assert set(sources) <= {"EXISTING", "ML_PREDICTION", "DEFAULT"} and sources["ML_PREDICTION"] > 0


def test_labelled_records_keep_their_label(demo: Path) -> None:
    ages: dict[str, int] = {}
    for path in (demo / "data").glob("profiles-*"):
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("age") is not None and record.get("id"):
                ages.setdefault(record["id"], record["age"])
    with published(demo / "lake", "age_predictions") as db:
        rows = db.execute(
            "SELECT id, value, value_source FROM age_predictions WHERE value_source = 'EXISTING'"
        ).fetchall()
    assert len(rows) > 1000
    assert all(value == ages[record_id] for record_id, value, _ in rows)


def test_query_command_reads_the_published_table(demo: Path) -> None:
    lake = str(demo / "lake")
    with published(demo / "lake", "age_predictions") as db:
        (rejects,) = db.execute("SELECT count(*) FROM age_predictions_rejects").fetchone()  # type: ignore[misc]
        (total,) = db.execute("SELECT count(*) FROM age_predictions").fetchone()  # type: ignore[misc]
    result = batchml("query", "SELECT count(*) AS n FROM age_predictions_rejects", "--root", lake)
    assert re.search(rf"│ {rejects} +│", result.stdout), result.stdout
    # The table shows 50 rows and says so; csv and jsonl give every row, for other tools.
    table = batchml("query", "SELECT id FROM age_predictions", "--root", lake)
    assert f"({total:,} rows, first 50 shown; --limit 0 shows all)" in table.stdout
    csv = batchml("query", "SELECT id, value_source FROM age_predictions", "--root", lake, "--format", "csv")
    lines = csv.stdout.splitlines()
    assert lines[0] == '"id","value_source"' and len(lines) == total + 1
    jsonl = batchml("query", "SELECT id, value FROM age_predictions ORDER BY id", "--root", lake, "--format", "jsonl")
    first = json.loads(jsonl.stdout.splitlines()[0])
    assert set(first) == {"id", "value"} and len(jsonl.stdout.splitlines()) == total
    limited = batchml("query", "SELECT id FROM age_predictions", "--root", lake, "--format", "csv", "--limit", "3")
    assert len(limited.stdout.splitlines()) == 4


def test_intermediates_are_cleaned_up_and_the_record_kept(demo: Path) -> None:
    run = only_run_state(demo / "lake")["run_id"]
    run_dir = demo / "lake" / "runs" / run
    assert not (run_dir / "features").exists() and not (run_dir / "predictions").exists()
    assert (run_dir / "staging").exists()  # the published results table shows it, joined to the values
    assert (run_dir / "model" / "model_card.json").exists() and (run_dir / "events.jsonl").exists()
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert {"run_started", "stage_succeeded", "batch_succeeded", "task_succeeded", "run_succeeded"} <= {
        e["event"] for e in events
    }
    assert all("run_id" in e and "ts" in e for e in events)
