"""Small throw-away projects for end-to-end tests: the houses dataset with its spec."""

from __future__ import annotations

import gzip
import json
import random
import shutil
import tomllib
from pathlib import Path
from typing import Any

import tomli_w

HOUSES = Path(__file__).parent / "houses"


def listing_lines(n: int, seed: int = 3, labelled_share: float = 0.5) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for i in range(n):
        rooms, area = rng.randint(1, 7), rng.uniform(25, 250)
        price = 2000 * area + 15000 * rooms + rng.gauss(0, 20000)
        record: dict[str, Any] = {
            "listing_id": f"L{seed}-{i:05d}",
            "address": {"city": rng.choice(["Lyon", "Oslo", "Porto"])},
            "rooms": rooms,
            "area_m2": round(area, 1),
            "built": rng.randint(1900, 2024),
        }
        if rng.random() < labelled_share:
            record["sale"] = {"price": round(price)}
        lines.append(json.dumps(record))
    return lines


def write_lines(path: Path, lines: list[str], *, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def houses_project(folder: Path, rows: int = 1200, **overrides: dict[str, Any]) -> Path:
    """A spec, its SQL and `rows` listings under `folder`; returns the spec path."""
    for name in ("staging.sql", "features.sql"):
        shutil.copy(HOUSES / name, folder / name)
    spec = tomllib.loads((HOUSES / "spec.toml").read_text())
    for section, values in overrides.items():
        spec.setdefault(section, {}).update(values)
    (folder / "spec.toml").write_text(tomli_w.dumps(spec))
    if rows:
        write_lines(folder / "data" / "listings.jsonl", listing_lines(rows))
    return folder / "spec.toml"
