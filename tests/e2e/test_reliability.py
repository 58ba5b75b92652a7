"""Failures a run must survive: a kill mid-fan-out, flaky and broken batches, a second run
on the same root. Driven through the CLI, faults injected by configuration (BATCHML_FAULTS)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from tests.e2e.conftest import REPO, batchml, only_run_state
from tests.e2e.projects import houses_project
from tests.integration.small_disk import small_disk

FAST_RETRY = {"default": {"interval_seconds": 0.2, "backoff_rate": 2.0, "jitter": "none", "max_attempts": 3}}


def results(lake: Path) -> dict[str, tuple[Any, ...]]:
    with duckdb.connect(str(lake / "catalog.duckdb"), read_only=True) as db:
        rows = db.execute(
            "SELECT listing_id, value, value_lower, value_upper, value_source, run_id FROM house_prices"
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def run_cli(spec: Path, *args: str, faults: str = "") -> subprocess.Popen[str]:
    env = {**os.environ, "BATCHML_FAULTS": faults, "COLUMNS": "160"}
    return subprocess.Popen(
        [sys.executable, "-m", "entrypoints.cli", "run", str(spec), *args],
        cwd=REPO,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def events(lake: Path) -> list[dict[str, Any]]:
    found = []
    for path in lake.glob("runs/*/events.jsonl"):
        found += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return found


def test_a_run_killed_mid_fan_out_resumes_to_the_same_table_as_a_clean_run(tmp_path: Path) -> None:
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    for folder in (clean, killed):
        folder.mkdir()
        houses_project(folder, 1500, batches={"rows_per_batch": 60, "max_concurrency": 2})
    batchml("run", str(clean / "spec.toml"))

    process = run_cli(killed / "spec.toml")
    deadline = time.time() + 180
    while sum(e["event"] == "batch_succeeded" for e in events(killed / "lake")) < 3:
        assert process.poll() is None and time.time() < deadline, "the run ended before the fan-out was under way"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    state = only_run_state(killed / "lake")
    assert state["status"] == "RUNNING" and state["stages"]["prediction"]["status"] == "RUNNING"
    done_before = len(list((killed / "lake" / "runs" / state["run_id"] / "markers").glob("*.json")))

    batchml("run", str(killed / "spec.toml"), "--resume", state["run_id"])
    resumed = only_run_state(killed / "lake")
    assert resumed["status"] == "SUCCEEDED"
    started_again = [e for e in events(killed / "lake") if e["event"] == "map_started"][-1]
    assert started_again["skipped"] >= done_before >= 3
    expected, got = results(clean / "lake"), results(killed / "lake")
    assert got.keys() == expected.keys()  # same ids, none missing, none duplicated (dict keys are unique)
    assert len(got) == len(expected) == 1500
    for listing, (value, low, high, source, _run) in got.items():
        other = expected[listing]
        assert source == other[3]
        assert np.allclose([value, low, high], other[:3], rtol=1e-9)


def test_a_batch_that_fails_twice_then_succeeds_is_retried_with_growing_delays(tmp_path: Path) -> None:
    spec = houses_project(tmp_path, 600, batches={"rows_per_batch": 100}, retry=FAST_RETRY)
    process = run_cli(spec, faults="batch=1:transient=2")
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output
    retries = [e for e in events(tmp_path / "lake") if e["event"] == "retry"]
    assert [(e["batch"], e["attempt"], e["delay_seconds"]) for e in retries] == [(1, 1, 0.2), (1, 2, 0.4)]
    assert "injected transient fault in batch 1" in retries[0]["error"]
    assert only_run_state(tmp_path / "lake")["status"] == "SUCCEEDED"


def test_a_batch_that_always_fails_leaves_the_published_results_unchanged(tmp_path: Path) -> None:
    spec = houses_project(tmp_path, 600, batches={"rows_per_batch": 100}, retry=FAST_RETRY)
    batchml("run", str(spec))
    before = results(tmp_path / "lake")

    process = run_cli(spec, faults="batch=2:permanent")
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 1
    # A permanent error fails the same way on a resume: the summary says to fix it and run anew.
    assert "Failed in prediction (batch 2)" in output and "--resume" not in output
    assert "then start a new run: batchml run" in " ".join(output.split())
    failed = only_run_state(tmp_path / "lake")
    assert failed["status"] == "FAILED"
    assert failed["failure"]["stage"] == "prediction" and failed["failure"]["batch"] == 2
    assert "injected permanent fault in batch 2" in failed["failure"]["error"]
    assert results(tmp_path / "lake") == before
    assert [e["event"] for e in events(tmp_path / "lake")].count("run_failed") == 1
    # `batchml runs` lists both: the failed one with where it failed, the table still on the first.
    listing = batchml("runs", str(spec)).stdout
    # Too wide for 160 columns: a run per line, its cells two spaces apart (entrypoints/tables.py).
    rows = {line.split()[0]: line for line in listing.splitlines() if line[:8].isdigit()}
    assert len(rows) == 2
    failed_row = rows[failed["run_id"]]
    assert "FAILED" in failed_row and "prediction batch 2: " in failed_row and "6/10" in failed_row
    (first_row,) = [row for run, row in rows.items() if run != failed["run_id"]]
    assert "SUCCEEDED" in first_row and "shown" in first_row and "10/10" in first_row
    first = json.loads(
        next(p for p in (tmp_path / "lake").glob("runs/*/run.json") if failed["run_id"] not in str(p)).read_text()
    )
    rows_and_r2 = (
        f"{first['stages']['aggregation']['report']['result_rows']:,}",
        f"{first['stages']['training']['report']['r2']:.3f}",
    )
    assert all(f" {value} " in first_row for value in rows_and_r2), first_row  # the run's size and model quality
    assert "Resume one with" not in listing  # nothing a resume could finish


def test_two_runs_on_one_root_one_runs_the_other_gets_the_lock_error(tmp_path: Path) -> None:
    spec = houses_project(tmp_path, 600, retry={"default": {"interval_seconds": 3.0, "jitter": "none"}})
    first = run_cli(spec, faults="stage=features:transient=1")  # holds the lock through a 3 s retry wait
    deadline = time.time() + 60
    while not any(e["event"] == "retry" for e in events(tmp_path / "lake")):
        assert time.time() < deadline and first.poll() is None
        time.sleep(0.05)
    second = run_cli(spec)
    second_output, _ = second.communicate(timeout=120)
    first_output, _ = first.communicate(timeout=300)
    assert first.returncode == 0, first_output
    assert second.returncode == 2
    first_id = only_run_state(tmp_path / "lake")["run_id"]
    said = " ".join(second_output.split())
    assert f"run {first_id} is active" in said and f"continue it with --resume {first_id}" in said
    # The time the README states, from the lock itself (the message used to say 3660s).
    assert "from elsewhere once its heartbeat is 5 minutes old" in said, said


def test_a_new_run_after_a_crash_is_not_blocked_by_the_dead_runs_lock(tmp_path: Path) -> None:
    spec = houses_project(tmp_path, 600, batches={"rows_per_batch": 100})
    crashed = run_cli(spec, faults="kill=before_stage:aggregation")
    crashed.communicate(timeout=300)
    assert crashed.returncode == -signal.SIGKILL
    assert (tmp_path / "lake" / "runs" / "_lock.json").exists()
    batchml("run", str(spec))  # no waiting for the dead run's heartbeat to go stale
    states = sorted((tmp_path / "lake").glob("runs/*/run.json"))
    statuses = sorted(json.loads(p.read_text())["status"] for p in states)
    assert statuses == ["ABANDONED", "SUCCEEDED"]


def test_rollback_restores_the_previous_published_run(tmp_path: Path) -> None:
    spec = houses_project(tmp_path, 400, batches={"rows_per_batch": 400})
    batchml("run", str(spec))
    first = {row[-1] for row in results(tmp_path / "lake").values()}
    batchml("run", str(spec))
    second = {row[-1] for row in results(tmp_path / "lake").values()}
    assert len(first) == len(second) == 1 and first != second
    out = batchml("rollback", str(spec)).stdout
    assert {row[-1] for row in results(tmp_path / "lake").values()} == first
    assert f"now shows run {first.pop()}" in out


def test_a_full_disk_fails_the_run_cleanly_and_the_next_run_starts(tmp_path: Path) -> None:
    """On a small real disk (a tmpfs; CI runs as root): the run fails with one message, no
    traceback, its failure recorded on the full disk, the root freed, so the next run starts (and
    fails) as cleanly (issue 14, finding 2: the next run used to crash taking the lock)."""
    spec = houses_project(tmp_path, 3000, batches={"rows_per_batch": 1000})
    # Kilobytes: the reserve (1 MiB) and a little more. Staging no longer copies the source's lines
    # into the lake, so the whole run fits in 276 KB: 76 KB leave it short.
    with small_disk(tmp_path / "lake", 1100) as lake:
        for attempt in (1, 2):  # the second run on the same full disk starts as cleanly
            failed = batchml("run", str(spec), check=False)
            said = failed.stdout + failed.stderr
            assert failed.returncode == 1, said
            assert "Traceback" not in said and "During handling" not in said, said
            assert "No space left on device" in said and "Free some space, then start a new run" in said
            state = next(
                json.loads(p.read_text())
                for p in lake.glob("runs/*/run.json")
                if json.loads(p.read_text())["status"] == "FAILED" and p.stat().st_mtime >= time.time() - 120
            )
            assert state["failure"]["data_removed"] is True, attempt
            assert not (lake / "runs" / "_lock.json").exists() and not list(lake.rglob("*.tmp-*"))
