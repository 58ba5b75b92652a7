"""The rough edges a new user hit (issue 16, items 1-8), in process on the houses example:
each test here failed before its fix."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from rich.console import Console

from domain.run_state import Failure, RunState, StageRecord
from entrypoints.cli import main, parser
from entrypoints.summary import print_summary
from tests.e2e.projects import houses_project, listing_lines, write_lines

pytestmark = pytest.mark.integration


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The houses example run twice: two published runs under one lake."""
    folder = tmp_path_factory.mktemp("houses")
    spec = houses_project(folder, 300, batches={"rows_per_batch": 300})
    for _ in range(2):
        assert main(["run", str(spec)]) == 0
    return folder


def test_csv_export_writes_nested_values_as_json_text(two_runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Before: pyarrow.lib.ArrowInvalid: Unsupported Type:list<l: string>, exit 1, nothing written.
    sql = "SELECT 'L1' AS id, ['a', 'b'] AS tags, {'city': 'Oslo', 'rooms': 3} AS address, [] AS empty"
    code, out, _ = cli(capsys, "query", sql, "--root", str(two_runs / "lake"), "--format", "csv")
    assert code == 0
    assert out.splitlines() == [
        '"id","tags","address","empty"',
        '"L1","[""a"", ""b""]","{""city"": ""Oslo"", ""rooms"": 3}","[]"',
    ]


def test_runs_and_rollback_take_a_lake_folder(two_runs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Before: both required the spec file, which the demo's summary never named.
    lake = str(two_runs / "lake")
    code, out, _ = cli(capsys, "runs", "--root", lake)
    assert code == 0 and out.count("SUCCEEDED") == 2 and "shown 2/2" in out and "kept 1/2" in out
    code, out, _ = cli(capsys, "rollback", "--root", lake)
    assert code == 0 and "table house_prices now shows run" in out
    code, out, _ = cli(capsys, "runs", "--root", lake)
    assert "shown 1/2" in out and "kept 2/2" in out
    code, _, err = cli(capsys, "rollback", "--root", lake)  # the oldest kept run: nothing earlier
    assert code == 2 and "it is the oldest kept one" in err
    assert cli(capsys, "rollback", "--root", lake, "--to", _newest(two_runs))[0] == 0


def _newest(folder: Path) -> str:
    states = [json.loads(p.read_text()) for p in (folder / "lake").glob("runs/*/run.json")]
    return str(max(states, key=lambda s: s["started_at"])["run_id"])


def test_query_outside_the_demo_folder_says_how_to_name_the_lake(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: "no catalog at demo-output/lake/catalog.duckdb: run a pipeline first", no hint.
    monkeypatch.chdir(tmp_path)
    code, _, err = cli(capsys, "query", "SELECT 1")
    assert code == 2
    assert "no catalog at demo-output/lake/catalog.duckdb" in err and "--root" in err and "--spec" in err


def test_every_option_has_help_and_there_is_a_version(capsys: pytest.CaptureFixture[str]) -> None:
    # Before: demo --rows/--dir/--seed, run --backend, query --root/--spec/--format had none.
    top = parser()
    commands = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    silent = [
        f"{name} {action.dest}"
        for name, sub in commands.choices.items()
        for action in sub._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]
    assert silent == []
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("batchml ")


def test_runs_piped_at_80_columns_cuts_no_cell(
    two_runs: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: rich squeezed the grid into 80 columns: "2026…", "SUCC…".
    monkeypatch.setenv("COLUMNS", "80")
    code, out, _ = cli(capsys, "runs", "--root", str(two_runs / "lake"))
    assert code == 0 and "…" not in out and out.count("SUCCEEDED") == 2
    states = [json.loads(p.read_text()) for p in (two_runs / "lake").glob("runs/*/run.json")]
    assert all(s["run_id"] in out for s in states)


def test_select_star_at_80_columns_prints_records_not_empty_cells(
    two_runs: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    # Ordered: an unordered query's first rows are whichever the join gives first.
    query = "SELECT * FROM house_prices ORDER BY value_source DESC, listing_id"
    code, out, _ = cli(capsys, "query", query, "--root", str(two_runs / "lake"), "--limit", "2")
    assert code == 0 and "…" not in out
    assert "-[ row 1 ]-" in out and "-[ row 2 ]-" in out and "value_source" in out and "ML_PREDICTION" in out


def test_the_summary_at_80_columns_cuts_nothing() -> None:
    state = RunState(run_id="20261126t133947z-1266", fingerprints={}, started_at=0.0, status="SUCCEEDED")
    state.finished_at = 14.0
    report = {"source_lines": 1_000_000, "staged_rows": 999_009, "rejected_rows": 991}
    state.stages["staging"] = StageRecord("SUCCEEDED", 1, 5.71, report)
    console = Console(record=True, width=80)
    print_summary(console, state, root="/a/long/path/to/the/demo-output/lake", table="t", resume_command="")
    text = console.export_text()
    assert "…" not in text and "1,000,000 lines -> 999,009 staged + 991 rejected" in " ".join(text.split())


@pytest.mark.parametrize(
    ("failure", "resumable"),
    [
        (Failure("prediction", "task predict-3 failed: exit 137", batch=3, retryable=True), True),
        (Failure("features", "features.sql: Binder Error: column nosuch", retryable=False), False),
        (Failure("staging", "the source data holds no lines (0 files)", retryable=False), False),
        (Failure("training", "from an older run.json"), True),
    ],
)
def test_resume_is_offered_only_when_it_can_work(failure: Failure, resumable: bool) -> None:
    # Before: every failure ended with "Resume: batchml run ... --resume", also where the resume
    # would be refused (a SQL file to fix) or fail the same way (an empty source).
    state = RunState(run_id="r1", fingerprints={}, started_at=0.0, status="FAILED", finished_at=1.0, failure=failure)
    console = Console(record=True, width=200)
    print_summary(console, state, root="/lake", table="t", resume_command="batchml run s.toml --resume r1")
    text = console.export_text()
    assert ("Resume:  batchml run s.toml --resume r1" in text) == resumable
    assert ("start a new run: batchml run s.toml" in text) == (not resumable)


def test_a_failed_runs_record_says_whether_a_retry_could_help(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = houses_project(tmp_path, 200)
    features = tmp_path / "features.sql"
    features.write_text(features.read_text().replace("rooms,", "nosuch_column,", 1))
    code, out, _ = cli(capsys, "run", str(spec))
    assert code == 1
    (record,) = [json.loads(p.read_text()) for p in (tmp_path / "lake").glob("runs/*/run.json")]
    assert record["failure"]["stage"] == "features" and record["failure"]["retryable"] is False
    assert "--resume" not in out and "fix the cause above, then start a new run" in " ".join(out.split())


def test_run_refuses_sql_that_does_not_parse_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: sqlglot accepted "rooms,," and the run staged the whole source first.
    spec = houses_project(tmp_path, 200)
    features = tmp_path / "features.sql"
    features.write_text(features.read_text().replace("rooms,", "rooms,,", 1))
    line = next(n for n, text in enumerate(features.read_text().splitlines(), 1) if "rooms,," in text)
    code, _, err = cli(capsys, "run", str(spec))
    assert code == 2
    assert f"features.sql: SQL does not parse as Athena/Trino SQL: an empty item in a list at line {line}" in err
    assert not (tmp_path / "lake" / "runs").exists()  # nothing started


def test_validate_fails_when_the_id_field_is_not_in_the_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: "valid", "1,000 rejected (1,000 missing_id)", exit 0; the run then failed.
    spec = houses_project(tmp_path, 0)
    lines = [line.replace('"listing_id"', '"ref"') for line in listing_lines(300)]  # the data names it otherwise
    write_lines(tmp_path / "data" / "listings.jsonl", lines)
    code, out, err = cli(capsys, "validate", str(spec))
    assert code == 2 and "valid" not in out
    assert (
        "rejected 300 of 300 sample lines (300 missing_id): likely cause: [source] id_field = 'listing_id' is not "
        "a key of the records (the first record's keys: ref, address, rooms, area_m2, built"
    ) in " ".join(err.split())


def test_validate_fails_when_no_sample_row_is_labelled(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = houses_project(tmp_path, 0)
    write_lines(tmp_path / "data" / "listings.jsonl", listing_lines(200, labelled_share=0.0))
    code, _, err = cli(capsys, "validate", str(spec))
    assert code == 2 and "no row of the 1,000-line sample has a value for the label 'sale_price'" in err
