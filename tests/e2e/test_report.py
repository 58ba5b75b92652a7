"""The run report end to end: written after every run (a failed one shows where it failed),
self-contained and small, and opened in a real browser (headless Chromium): no console
errors, every chart drawn, a screenshot kept as a test artifact."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from entrypoints.report_page import SECTIONS
from tests.browser import Browser, chromium
from tests.e2e.conftest import REPO

ARTIFACTS = Path(os.environ.get("BATCHML_TEST_ARTIFACTS", REPO / "test-artifacts"))


def demo(directory: Path, faults: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "160", "BATCHML_FAULTS": faults}
    args = ["demo", "--rows", "6000", "--dir", str(directory), "--rows-per-batch", "1500"]
    return subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", *args], cwd=REPO, env=env, text=True, capture_output=True, timeout=600
    )


def states(lake: Path) -> list[dict[str, Any]]:
    found = [json.loads(p.read_text()) for p in lake.glob("runs/*/run.json")]
    return sorted(found, key=lambda s: s["started_at"])


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three demo runs on one lake: a clean one, one with a batch retried (the comparison and
    the retry in the timeline), and one that fails in aggregation."""
    directory = tmp_path_factory.mktemp("report")
    assert demo(directory).returncode == 0
    second = demo(directory, faults="batch=1:transient=1")
    assert second.returncode == 0, second.stdout + second.stderr
    failed = demo(directory, faults="stage=aggregation:permanent")
    assert failed.returncode == 1 and "Report:" in failed.stdout
    return directory / "lake"


def test_every_run_writes_a_small_self_contained_report(lake: Path) -> None:
    for state in states(lake):
        page = (lake / "runs" / state["run_id"] / "report.html").read_text()
        assert len(page.encode()) < 2_000_000
        # Nothing loads from anywhere: no script, no remote source, link or font.
        assert "<script" not in page and not re.search(r"""(src|href)=["']?(https?:)?//""", page)
        assert "url(http" not in page and "@import" not in page


def test_the_report_of_a_retried_run_compares_with_the_previous_one(lake: Path) -> None:
    first, second, _ = states(lake)
    page = (lake / "runs" / second["run_id"] / "report.html").read_text()
    assert f"previous published run {first['run_id']}" in page
    assert "1 retries" in page and "waiting to retry" in page
    assert "baseline: ridge" in page and "baseline: median" in page
    assert "Permutation importance" in page and "PSI per feature" in page


def test_a_failed_runs_report_shows_where_it_failed(lake: Path) -> None:
    failed = states(lake)[-1]
    assert failed["status"] == "FAILED"
    page = (lake / "runs" / failed["run_id"] / "report.html").read_text()
    assert "Failed in stage aggregation" in page and "injected permanent fault" in page
    assert "Stages that finished: pre_cleanup, staging, features, training" in page


def test_the_report_opens_in_chromium_with_every_chart_drawn(lake: Path) -> None:
    binary = chromium()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: scripts/test_setup.sh installs it")
        pytest.skip("chromium is not installed (scripts/test_setup.sh installs it)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for name, state in zip(("report", "report-failed"), (states(lake)[1], states(lake)[-1]), strict=True):
        browser = Browser(binary)
        try:
            browser.open((lake / "runs" / state["run_id"] / "report.html").as_uri())
            charts = browser.evaluate(
                "Array.from(document.querySelectorAll('figure.chart svg')).map(s => {"
                "const b = s.getBoundingClientRect();"
                "return [b.width, b.height, s.querySelectorAll('path, rect, line, text').length]; })"
            )
            sections = browser.evaluate("Array.from(document.querySelectorAll('section')).map(s => s.id)")
            browser.screenshot(ARTIFACTS / f"{name}.png")
            errors = browser.console_errors()
        finally:
            browser.close()
        assert errors == []
        assert sections == [key for key, _ in SECTIONS]
        assert charts and all(w > 100 and h > 50 and marks > 5 for w, h, marks in charts), charts
        if name == "report":
            assert len(charts) >= 10  # funnel, timeline, 5 of the model, predictions, drift, comparison
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 20_000
