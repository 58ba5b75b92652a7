"""Plan against actual: a local run on the demo data records, in its ledger, the plan for its
own source beside what it measured; the plan's time stays within 30% of the run's own stage
seconds at 200,000 and 1,000,000 rows. One data set serves both sizes (the 200,000-row run
reads its first file), so the test costs the two runs and one generation (about a minute)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from examples.age.generate import generate
from tests.e2e.conftest import REPO, batchml

pytestmark = pytest.mark.e2e

EXAMPLE = REPO / "examples" / "age"
PER_FILE = 200_000
TOLERANCE = 0.30


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("plan-data") / "data"
    generate(folder, 1_000_000, seed=42, rows_per_file=PER_FILE, malformed_fraction=0.001)
    yield folder


def spec_for(source: str, folder: Path) -> Path:
    text = (EXAMPLE / "spec.toml").read_text().replace('"../../demo-output/data"', f'"{source}"')
    text = text.replace('"../../demo-output/lake"', f'"{folder / "lake"}"')
    text = text.replace('"staging.sql"', f'"{EXAMPLE / "staging.sql"}"')
    spec = folder / "spec.toml"
    spec.write_text(text.replace('"features.sql"', f'"{EXAMPLE / "features.sql"}"'))
    return spec


@pytest.mark.parametrize("rows", [200_000, 1_000_000])
def test_the_local_plan_is_within_30_percent_of_the_runs_own_stage_seconds(
    rows: int, data: Path, tmp_path: Path
) -> None:
    files = sorted(data.iterdir())[: rows // PER_FILE]
    source = str(files[0]) if len(files) == 1 else str(data)
    spec = spec_for(source, tmp_path)

    done = batchml("run", str(spec))

    state = json.loads(next((tmp_path / "lake" / "runs").glob("*/run.json")).read_text())
    assert state["stages"]["staging"]["report"]["source_lines"] == rows
    ledger = state["ledger"]
    measured = sum(stage["seconds"] for stage in state["stages"].values())
    planned = ledger["plan"]["wall_seconds"]
    by_stage = {name: (ledger["plan"][f"{name}_seconds"], s["seconds"]) for name, s in state["stages"].items()}
    assert abs(planned - measured) <= TOLERANCE * measured, f"plan {planned:.1f}s, run {measured:.1f}s: {by_stage}"
    # The ledger holds what was measured, and the summary shows both.
    assert (
        ledger["backend"] == "local"
        and ledger["stages"]["prediction"]["tasks"] == state["stages"]["prediction"]["report"]["batches"]
    )
    assert ledger["stages"]["training"]["task_seconds"] > 0
    assert ledger["aws_cost"]["total"] > 0 and set(ledger["aws_cost"]["by_service"]) == {
        "athena",
        "lambda",
        "fargate",
        "step_functions",
        "s3",
        "vpc_endpoints",
    }
    out = " ".join(done.stdout.split())
    assert "Cost: on AWS this run would cost" in out and "Plan: " in out and "the stages took" in out
    runs = batchml("runs", str(spec)).stdout
    assert "AWS $" in runs
