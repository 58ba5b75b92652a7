"""The example data, generated once per (rows, seed) and reused by later runs (never timed)."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from examples.age.generate import generate

MALFORMED_FRACTION = 0.001


@dataclass(frozen=True)
class Dataset:
    folder: Path
    rows: int
    seed: int
    bytes: int
    generated_seconds: float | None  # None: reused from an earlier run


def data_folder(out: Path, rows: int, seed: int) -> Path:
    return out / "data" / f"rows={rows}-seed={seed}"


def ensure_dataset(out: Path, rows: int, seed: int) -> Dataset:
    """Generate unless a finished generation of the same request is already there.

    The marker lives beside the folder, not in it, so the pipeline never reads it as a
    source file, and it is written last, so a generation cut short is redone.
    """
    folder = data_folder(out, rows, seed)
    marker = folder.with_name(folder.name + ".json")
    wanted = {"rows": rows, "seed": seed, "malformed_fraction": MALFORMED_FRACTION}
    seconds: float | None = None
    if not (marker.exists() and json.loads(marker.read_text()) == wanted and folder.is_dir()):
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        generate(folder, rows, seed=seed, malformed_fraction=MALFORMED_FRACTION)
        seconds = time.perf_counter() - started
        marker.write_text(json.dumps(wanted))
    size = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    return Dataset(folder=folder, rows=rows, seed=seed, bytes=size, generated_seconds=seconds)


def warm_page_cache(folder: Path, chunk_bytes: int = 8 << 20) -> float:
    """Read every data file once, untimed, and return the seconds it took.

    The pipeline runs first and the floor after it: with data reused from an earlier session
    and evicted from the page cache, the pipeline alone paid for the disk (measured at 10M:
    pipeline/floor 1.33x cold, 1.24x warm, same code). Read here before each timed run that
    reads the source (the pipeline, the floor, the ceiling), each starts from the same warm
    cache, as freshly generated data does: this machine also pages out file cache left idle for
    about a minute (benchmarks/findings.md), which the run before can take.
    """
    started = time.perf_counter()
    for path in sorted(folder.iterdir()):
        if path.is_file():
            with path.open("rb", buffering=0) as f:
                while f.read(chunk_bytes):
                    pass
    return time.perf_counter() - started


def remove_dataset(dataset: Dataset) -> None:
    shutil.rmtree(dataset.folder, ignore_errors=True)
    dataset.folder.with_name(dataset.folder.name + ".json").unlink(missing_ok=True)
