"""`batchml plan` through the CLI: the seed's workload on AWS in seconds, every limit either
fitting or naming what to change; a local plan from a measured source."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from examples.age.generate import generate
from tests.e2e.conftest import REPO, batchml

pytestmark = pytest.mark.e2e

SPEC = REPO / "examples" / "age" / "spec.toml"
# The seed's run: 378M records (issue 13).
SEED_ROWS = "378000000"


def limit_lines(out: str) -> list[tuple[str, str, str | None]]:
    """(status, limit, fix or None) per line of the plan's limits section."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("AWS limits"))
    found: list[tuple[str, str, str | None]] = []
    for line in lines[start + 1 :]:
        status = re.match(r"  (ok|CROSSED|throttled)\s+(.*)", line)
        if status:
            found.append((status.group(1), status.group(2), None))
        elif line.strip().startswith("fix:") and found:
            found[-1] = (found[-1][0], found[-1][1], line.strip().removeprefix("fix: "))
    return found


def test_the_seeds_workload_is_planned_in_seconds_and_fits_every_limit_or_names_what_to_change() -> None:
    began = time.perf_counter()
    result = batchml("plan", str(SPEC), "--rows", SEED_ROWS, "--backend", "aws", check=False)
    took = time.perf_counter() - began
    out = result.stdout

    assert took < 5, f"batchml plan took {took:.1f}s"
    assert "378,000,000 lines" in out and "Total on AWS: $" in out and "wall time" in out
    for stage in ("staging", "features", "training", "batch_planning", "prediction", "aggregation"):
        assert re.search(rf"^ {stage}\s", out, re.M), stage
    assert "Rates: " in out and "(adapters/shared/rates.json)" in " ".join(out.split())
    assert "Prices: adapters/aws/prices.toml, us-east-1" in out
    limits = limit_lines(out)
    assert len(limits) >= 12
    crossed = [(name, fix) for status, name, fix in limits if status == "CROSSED"]
    # Each crossed limit names the spec setting or Terraform variable that fixes it.
    assert all(fix and re.search(r"\[\w+\] \w+|Terraform variable|quota", fix) for _, fix in crossed), crossed
    assert result.returncode == (1 if crossed else 0)
    # At the example's settings (2 tasks at once, 250,000 rows a batch) only the default scan cap
    # of Terraform's workgroup (10 GiB) is too small for the seed's raw table.
    assert [name.split(":")[0] for name, _ in crossed] == ["Athena workgroup scan cap (largest query"]
    assert "athena_bytes_scanned_cutoff" in (crossed[0][1] or "")


def test_a_local_plan_measures_the_source_and_prices_the_run_on_aws(tmp_path: Path) -> None:
    data = tmp_path / "data"
    generate(data, 3000, seed=7, rows_per_file=1000)
    spec = tmp_path / "spec.toml"
    text = SPEC.read_text().replace('"../../demo-output/data"', f'"{data}"')
    spec.write_text(
        text.replace('"staging.sql"', f'"{SPEC.parent}/staging.sql"').replace(
            '"features.sql"', f'"{SPEC.parent}/features.sql"'
        )
    )

    result = batchml("plan", str(spec))

    out = " ".join(result.stdout.split())
    lines = int(re.search(r"on local: ([\d,]+) lines", out).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert abs(lines - 3000) <= 30  # from the files' sizes and their first lines' bytes per line
    assert "measured: 3 files," in out
    assert "Total here:" in out and "on AWS this run would cost " in out
    assert "Limits: AWS limits apply to --backend aws runs" in out


def test_a_region_without_prices_is_a_clear_error() -> None:
    result = batchml("plan", str(SPEC), "--rows", "1000", "--backend", "aws", "--region", "mars-1", check=False)
    assert result.returncode == 2
    err = " ".join(result.stderr.split())
    assert "prices.toml has no prices for region 'mars-1' (it has ap-southeast-1, eu-central-1, eu-west-1, " in err


def test_a_source_that_is_not_there_says_how_to_plan_without_it(tmp_path: Path) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC.read_text().replace('"../../demo-output/data"', f'"{tmp_path / "nothing"}"'))
    for name in ("staging.sql", "features.sql"):
        (tmp_path / name).write_text((SPEC.parent / name).read_text())
    result = batchml("plan", str(spec), check=False)
    assert result.returncode == 2
    assert "give its size: --rows N or --source-bytes B" in " ".join(result.stderr.split())
