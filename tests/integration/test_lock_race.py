"""Two processes taking over a dead run's lock at the same instant: exactly one gets it, every
time (issue 14, finding 4: both got it, 20 times out of 20), on a folder and on S3 (moto's server,
conditional writes). And a heartbeat never overwrites a lock another run holds."""

from __future__ import annotations

import json
import multiprocessing
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import boto3
import pytest

from adapters.aws.s3_store import S3ObjectStore
from adapters.local.filesystem_store import FilesystemObjectStore
from adapters.shared.object_store_run_store import LOCK_KEY, ObjectStoreRunStore
from domain.ports.object_store import ObjectStore
from tests.integration.aws.fixtures import moto_server

pytestmark = pytest.mark.integration

ROUNDS = 20
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(params=["filesystem", "s3"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], ObjectStore]:
    """A factory: each process (and each call) makes its own store, over the same root."""
    if request.param == "filesystem":
        return lambda: FilesystemObjectStore(tmp_path / "root")
    endpoint = request.getfixturevalue("moto_endpoint")
    bucket = f"race-{request.node.name.split('[')[0][-30:].replace('_', '-')}"
    boto3.client("s3", endpoint_url=endpoint, **CREDENTIALS).create_bucket(Bucket=bucket)  # type: ignore[call-overload]
    return lambda: S3ObjectStore(boto3.client("s3", endpoint_url=endpoint, **CREDENTIALS), bucket, "lake")  # type: ignore[call-overload]


def _contender(make: Callable[[], ObjectStore], run_id: str, barrier: Barrier, results: Any) -> None:
    run_store = ObjectStoreRunStore(make())
    barrier.wait()
    results.put((run_id, run_store.acquire_lock(run_id, time.time(), 300.0)))


def test_two_processes_racing_over_a_dead_lock_never_both_get_it(stores: Callable[[], ObjectStore]) -> None:
    context = multiprocessing.get_context("fork")
    store = stores()
    for round_ in range(ROUNDS):
        dead = {"run_id": f"dead-{round_}", "heartbeat": time.time(), "host": socket.gethostname(), "pid": dead_pid()}
        store.put(LOCK_KEY, json.dumps(dead).encode())
        barrier, results = context.Barrier(2), context.Queue()
        racers = [context.Process(target=_contender, args=(stores, f"r{i}", barrier, results)) for i in (1, 2)]
        for racer in racers:
            racer.start()
        outcomes = dict(results.get(timeout=60) for _ in racers)
        for racer in racers:
            racer.join(60)
        winners = [run for run, holder in outcomes.items() if holder is None]
        assert len(winners) == 1, f"round {round_}: {outcomes}"
        (winner,) = winners
        loser = next(run for run in outcomes if run != winner)
        assert outcomes[loser] == winner  # the loser is told who holds it
        assert json.loads(store.get(LOCK_KEY))["run_id"] == winner


def test_a_heartbeat_never_overwrites_a_lock_another_run_took_over(stores: Callable[[], ObjectStore]) -> None:
    holder, taker = ObjectStoreRunStore(stores()), ObjectStoreRunStore(stores())
    assert holder.acquire_lock("r1", now=100.0, stale_after_seconds=300.0) is None
    assert holder.refresh_lock("r1", now=200.0)
    assert taker.acquire_lock("r2", now=1000.0, stale_after_seconds=300.0) is None  # r1 went silent: stale
    assert not holder.refresh_lock("r1", now=1001.0)  # r1 wakes up: it is told, and writes nothing
    assert json.loads(stores().get(LOCK_KEY))["run_id"] == "r2"
    holder.release_lock("r1")
    assert json.loads(stores().get(LOCK_KEY))["run_id"] == "r2"
