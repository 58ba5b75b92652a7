"""A small disk for tests that fill it: a tmpfs of a given size (needs root, as in CI)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@contextlib.contextmanager
def small_disk(where: Path, kilobytes: int) -> Iterator[Path]:
    """A fresh tmpfs of `kilobytes` KB mounted at `where`; skips the test when it cannot be."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs the tests as root)")
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={kilobytes}k", "tmpfs", str(where)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(path: Path) -> int:
    """Write zeros at `path` until the disk is full; how many bytes fit. Raises nothing."""
    written = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError), path.open("wb", buffering=0) as handle:
        chunk = b"\0" * (1 << 20)
        while True:
            handle.write(chunk)
            handle.flush()
            written += len(chunk)
    return written
