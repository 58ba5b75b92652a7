"""The benchmark runs end to end on a tiny data set and reports every section and target.

Targets are not asserted: on a few thousand rows, or on a loaded machine, they say nothing
about the code. What is asserted is that the benchmark produces what it promises.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from domain.cost.rates import rates_from_mapping
from tests.e2e.conftest import REPO

pytestmark = pytest.mark.e2e

SECTIONS = ("pipeline", "floor", "ceiling", "rowwise", "task_overhead", "summary", "dataset")
TARGETS = {
    "end_to_end_throughput",
    "pipeline_over_floor",
    "scoring_over_rowwise",
    "peak_memory",
    "memory_growth",
    "task_overhead",
    "concurrency_speedup",
    "prediction_per_core",
    "training_over_floor",
    "holdout_r2",
    "interval_coverage",
}


def test_benchmark_smoke(tmp_path: Path) -> None:
    pytest.importorskip("psutil", reason="the benchmark needs psutil (the bench extra)")
    docs = tmp_path / "benchmarks.md"
    command = [sys.executable, "-m", "benchmarks", "--rows", "1500,3000", "--out", str(tmp_path / "bench")]
    command += ["--rowwise-rows", "100", "--overhead-repeats", "1", "--concurrency", "1,2"]
    command += ["--write-docs", "--docs", str(docs), "--write-rates", str(tmp_path / "rates.json")]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr

    results = json.loads((tmp_path / "bench" / "results.json").read_text())
    assert set(results["runs"]) == {"1500", "3000"}
    for run in results["runs"].values():
        for section in SECTIONS:
            assert run.get(section), f"missing section {section}"
        assert run["pipeline"]["status"] == "SUCCEEDED"
        assert run["pipeline"]["peak_rss_bytes"] > 0
        assert run["floor"]["counts"]["staged_rows"] == run["pipeline"]["staged_rows"]
        assert run["floor"]["counts"]["predicted_rows"] == run["pipeline"]["predicted_rows"]
        agreement = run["rowwise"]["agreement_with_floor"]
        assert agreement["compared"] == run["rowwise"]["rows"] == agreement["equal"]
        assert all(stage["seconds"] >= 0 for stage in run["pipeline"]["stages"].values())
        assert run["ceiling"]["measured"] and run["ceiling"]["rows"] == run["pipeline"]["source_lines"]
        assert run["summary"]["ceiling_rows_per_second"] > 0
    assert set(results["concurrency"]["runs"]) == {"1", "2"}
    assert results["load_average"]["start"] and results["load_average"]["end"]

    # The cost model's rates, read back as `batchml plan` reads them.
    rates = rates_from_mapping(json.loads((tmp_path / "rates.json").read_text()), "rates.json")
    assert rates.machine.cores == results["machine"]["cores"] and rates.scoring_rows_per_second_per_core > 0
    # A few thousand rows say nothing of the per-row times (a fit may give them 0): sizes they do.
    assert rates.table_bytes_per_row["raw"] > 0 and rates.raw_bytes_per_source_byte > 0

    targets = results["targets"]
    assert {t["name"] for t in targets} == TARGETS
    assert all(t["status"] in ("PASS", "MISS") for t in targets), targets
    assert "## Targets" in docs.read_text()
    assert not (tmp_path / "bench" / "data" / "rows=3000-seed=42").exists(), "data is deleted without --keep-data"
