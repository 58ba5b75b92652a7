"""What the terminal shows keeps its brackets: errors name stages and spec sections as
"[staging] ..." and data may hold "[python]", which rich would otherwise take for markup."""

from __future__ import annotations

from rich.console import Console

from adapters.local.progress import RichProgressEventLog
from domain.run_state import Failure, RunState, StageRecord
from entrypoints.query_command import query_cell
from entrypoints.summary import print_summary


def test_a_failed_runs_summary_shows_the_error_as_written() -> None:
    state = RunState(run_id="r1", fingerprints={}, started_at=0.0, status="FAILED", finished_at=1.0)
    state.stages["staging"] = StageRecord("FAILED", 3, 0.5)
    state.failure = Failure(stage="staging", error="TransientError: [staging] QueryError: [red]throttled[/]")
    console = Console(record=True, width=200)
    print_summary(console, state, root="/lake", table="t", resume_command="batchml run s.toml --resume r1")
    assert "Failed in staging: TransientError: [staging] QueryError: [red]throttled[/]" in console.export_text()


def test_the_progress_view_prints_retry_errors_as_written() -> None:
    console = Console(record=True, width=200)
    with RichProgressEventLog(10, console) as view:
        view.emit("retry", stage="features", error="[features] Athena throttled the query")
    assert "retry features: [features] Athena throttled the query" in console.export_text()


def test_query_cells_are_text() -> None:
    console = Console(record=True, width=80)
    console.print(query_cell("[python]"), query_cell(None), query_cell(0.123456))
    assert console.export_text().split() == ["[python]", "NULL", "0.1235"]


def test_the_summary_adds_up_what_the_sql_stages_scanned() -> None:
    state = RunState(run_id="r1", fingerprints={}, started_at=0.0, status="SUCCEEDED", finished_at=1.0)
    state.stages["staging"] = StageRecord("SUCCEEDED", 1, 0.5, {"bytes_scanned": 1_500_000_000})
    state.stages["features"] = StageRecord("SUCCEEDED", 1, 0.5, {"bytes_scanned": 250_000_000})
    state.stages["training"] = StageRecord("SUCCEEDED", 1, 0.5, {})
    console = Console(record=True, width=200)
    print_summary(console, state, root="/lake", table="t", resume_command="")
    assert "Scanned: 1.75 GB by the SQL stages (staging 1.50, features 0.25 GB)" in console.export_text()


def test_one_batch_is_one_batch() -> None:
    state = RunState(run_id="r1", fingerprints={}, started_at=0.0, status="SUCCEEDED", finished_at=1.0)
    state.stages["batch_planning"] = StageRecord("SUCCEEDED", 1, 0.1, {"batches": 1, "rows_per_batch": 100})
    state.stages["prediction"] = StageRecord("SUCCEEDED", 1, 0.1, {"predicted_rows": 80, "batches": 1})
    console = Console(record=True, width=200)
    print_summary(console, state, root="/lake", table="t", resume_command="")
    text = console.export_text()
    assert "1 batch of <= 100 rows" in text and "80 rows predicted in 1 batch " in text


def test_the_query_hint_names_a_way_that_works_for_the_lake() -> None:
    state = RunState(run_id="r1", fingerprints={}, started_at=0.0, status="SUCCEEDED", finished_at=1.0)
    hints = []
    for root, query_from in (("/lake", None), ("s3://b/lake", "--spec s.toml"), ("s3://b/lake", None)):
        console = Console(record=True, width=200)
        print_summary(console, state, root=root, table="t", resume_command="", query_from=query_from)
        hints.append(
            [line.split('GROUP BY 1" ')[-1] for line in console.export_text().splitlines() if "Query:" in line]
        )
    assert hints == [["--root /lake"], ["--spec s.toml"], []]  # a hybrid lake's table is in Glue


def test_the_scanned_line_prices_the_scan_at_athenas_rate() -> None:
    state = RunState(run_id="r1", fingerprints={}, started_at=0.0, status="SUCCEEDED", finished_at=1.0)
    texts = []
    for scanned in (400_000_000_000, 500_000_000):
        state.stages["staging"] = StageRecord("SUCCEEDED", 1, 0.5, {"bytes_scanned": scanned})
        console = Console(record=True, width=200)
        print_summary(console, state, root="/lake", table="t", resume_command="")
        texts.append(console.export_text())
    assert "Scanned: 400.00 GB by the SQL stages (staging 400.00 GB): $2.00 at Athena's $5 per TB" in texts[0]
    assert "(staging 500.00 MB): < $0.01 at Athena's $5 per TB" in texts[1]
