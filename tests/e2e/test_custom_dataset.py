"""Bring your own data: a spec written by hand for another JSON dataset runs unchanged code."""

from __future__ import annotations

import gzip
import json
import random
import shutil
from pathlib import Path

from tests.e2e.conftest import batchml, only_run_state, published

HOUSES = Path(__file__).parent / "houses"


def write_listings(folder: Path, n: int) -> None:
    rng = random.Random(3)
    folder.mkdir(parents=True)
    lines = []
    for i in range(n):
        rooms, area = rng.randint(1, 7), rng.uniform(25, 250)
        price = 2000 * area + 15000 * rooms + rng.gauss(0, 20000)
        record = {
            "listing_id": f"L{i:05d}",
            "address": {"city": rng.choice(["Lyon", "Oslo", "Porto"])},
            "rooms": rooms,
            "area_m2": round(area, 1),
            "built": rng.randint(1900, 2024),
        }
        if rng.random() < 0.5:
            record["sale"] = {"price": round(price)}
        lines.append(json.dumps(record))
    lines.insert(10, '{"listing_id": "L00003", "rooms": 2}')  # a duplicate id: rejected, not merged
    (folder / "listings.jsonl.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))


def test_a_hand_written_spec_for_another_dataset_runs(tmp_path: Path) -> None:
    for name in ("spec.toml", "staging.sql", "features.sql"):
        shutil.copy(HOUSES / name, tmp_path / name)
    write_listings(tmp_path / "data", 1200)
    batchml("run", str(tmp_path / "spec.toml"))
    state = only_run_state(tmp_path / "lake")
    staging = state["stages"]["staging"]["report"]
    assert (staging["source_lines"], staging["staged_rows"], staging["reject_reasons"]) == (
        1201,
        1200,
        {"duplicate_id": 1},
    )
    assert state["stages"]["training"]["report"]["r2"] > 0.8
    with published(tmp_path / "lake", "house_prices") as db:
        n, ids = db.execute("SELECT count(*), count(DISTINCT listing_id) FROM house_prices").fetchone()  # type: ignore[misc]
        columns = [c[0] for c in db.execute("DESCRIBE house_prices").fetchall()]
    assert n == ids == 1200
    assert columns[:2] == ["listing_id", "city"] and "value_source" in columns


def test_a_spec_with_a_typo_fails_before_anything_runs(tmp_path: Path) -> None:
    for name in ("staging.sql", "features.sql"):
        shutil.copy(HOUSES / name, tmp_path / name)
    text = (HOUSES / "spec.toml").read_text().replace("interval_coverage", "interval_coverge")
    (tmp_path / "spec.toml").write_text(text.replace('features = "features.sql"', 'features = "feature.sql"'))
    result = batchml("run", str(tmp_path / "spec.toml"), check=False)
    assert result.returncode == 2
    # The section in brackets is part of the message (rich once took it for markup and dropped it).
    assert f"[sql] features: file {tmp_path / 'feature.sql'} does not exist" in " ".join(result.stderr.split())
    assert "spec.toml" in result.stderr
    text = (tmp_path / "spec.toml").read_text().replace('"feature.sql"', '"features.sql"')
    (tmp_path / "spec.toml").write_text(text)
    result = batchml("run", str(tmp_path / "spec.toml"), check=False)
    assert result.returncode == 2
    assert "[model] interval_coverge: unknown key" in result.stderr
    assert not (tmp_path / "lake").exists()


def test_a_run_id_that_would_leave_the_output_root_is_refused(tmp_path: Path) -> None:
    for name in ("spec.toml", "staging.sql", "features.sql"):
        shutil.copy(HOUSES / name, tmp_path / name)
    result = batchml("run", str(tmp_path / "spec.toml"), "--resume", "../../elsewhere", check=False)
    assert result.returncode == 2
    assert "--resume: run id '../../elsewhere' is not valid" in " ".join(result.stderr.split())
    assert not (tmp_path / "lake").exists()


def test_validate_checks_the_model_params_against_scikit_learn(tmp_path: Path) -> None:
    for name in ("spec.toml", "staging.sql", "features.sql"):
        shutil.copy(HOUSES / name, tmp_path / name)
    spec = tmp_path / "spec.toml"
    spec.write_text(spec.read_text().replace("params = { alpha = 1.0 }", "params = { alpah = 1.0 }"))
    result = batchml("validate", str(spec), check=False)
    assert (result.returncode, result.stdout) == (2, "")
    assert "[model] params: ridge has no parameter 'alpah' (did you mean alpha?)" in " ".join(result.stderr.split())
    spec.write_text(spec.read_text().replace("params = { alpah = 1.0 }", "params = { alpha = 0.5 }"))
    assert "valid (pipeline houses" in batchml("validate", str(spec), "--sample", "0").stdout
