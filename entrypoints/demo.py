"""`batchml demo`: generate the age example's data, write a spec for it, hand it to `run`."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import tomli_w
from rich.console import Console

from examples.age.generate import generate

DEFAULT_DEMO_DIR = "demo-output"
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "age"


def prepare_demo(
    directory: Path,
    rows: int,
    *,
    seed: int,
    malformed_fraction: float,
    console: Console,
    batches: dict[str, int] | None = None,
) -> Path:
    """Data under DIR/data (regenerated only if the request changed), results under DIR/lake,
    and DIR/spec.toml: the example's spec pointed at both."""
    directory = directory.resolve()
    data = directory / "data"
    wanted = {"rows": rows, "seed": seed, "malformed_fraction": malformed_fraction}
    marker = directory / "data.json"  # beside the data: never mistaken for a source file
    if not marker.exists() or json.loads(marker.read_text()) != wanted:
        for old in data.glob("profiles-*"):
            old.unlink()
        data.mkdir(parents=True, exist_ok=True)
        with console.status(f"generating {rows:,} profile records in {data}"):
            report = generate(data, rows, seed=seed, malformed_fraction=malformed_fraction)
        marker.write_text(json.dumps(wanted))
        console.print(
            f"generated {report.rows:,} lines in {len(report.files)} files "
            f"({report.labelled:,} with a known age, {report.malformed:,} deliberately malformed)"
        )
    spec = tomllib.loads((EXAMPLE / "spec.toml").read_text())
    spec["source"]["path"] = str(data)
    spec["output"]["root"] = str(directory / "lake")
    spec["batches"].update(batches or {})
    spec["sql"] = {"staging": str(EXAMPLE / "staging.sql"), "features": str(EXAMPLE / "features.sql")}
    spec_file = directory / "spec.toml"
    spec_file.write_text(tomli_w.dumps(spec))
    return spec_file
