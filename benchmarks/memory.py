"""Wall time and peak resident memory of a child process and everything it starts."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

SAMPLE_SECONDS = 0.05


def tree_rss(process: psutil.Process) -> int:
    """RSS of `process` plus all its descendants. Shared pages are counted once per process,
    as `ps` would: an upper bound, which is what a memory limit cares about."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # a task process ended between the listing and the reading
    return total


class TreeSampler:
    """Samples the tree's RSS every ~50 ms on a thread; keeps the maximum."""

    def __init__(self, pid: int, interval: float = SAMPLE_SECONDS) -> None:
        self._process = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)
        self.peak_bytes = 0
        self.samples = 0
        # (wall clock, bytes): wall clock, so samples line up with the run's event timestamps.
        self.timeline: list[tuple[float, int]] = []

    def _loop(self) -> None:
        while not self._stop.is_set():
            rss = tree_rss(self._process)
            self.peak_bytes = max(self.peak_bytes, rss)
            self.samples += 1
            self.timeline.append((time.time(), rss))
            self._stop.wait(self._interval)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(frozen=True)
class Measured:
    wall_seconds: float
    peak_rss_bytes: int
    rss_samples: int
    returncode: int
    timeline: list[tuple[float, int]]


def run_measured(
    command: Sequence[str], log: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Measured:
    """Run `command` to completion, its output into `log`; wall time from spawn to exit."""
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "COLUMNS": "160", **(env or {})}
    with log.open("wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(list(command), stdout=out, stderr=subprocess.STDOUT, env=full_env, cwd=cwd)
        with TreeSampler(process.pid) as sampler:
            code = process.wait()
        wall = time.perf_counter() - started
    return Measured(wall, sampler.peak_bytes, sampler.samples, code, sampler.timeline)
