"""ObjectStoreRunStore over each ObjectStore: state, markers and the root's lock behave the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.local.filesystem_store import FilesystemObjectStore
from adapters.shared.object_store_run_store import ObjectStoreRunStore
from domain.ports.run_store import RunStore
from domain.run_state import Failure, RunState, StageRecord

pytestmark = pytest.mark.integration

STALE = 300.0


@pytest.fixture(params=["filesystem", "s3"])
def run_store(request: pytest.FixtureRequest, tmp_path: Path) -> RunStore:
    if request.param == "filesystem":
        return ObjectStoreRunStore(FilesystemObjectStore(tmp_path / "root"))
    return ObjectStoreRunStore(request.getfixturevalue("s3_store"))


def test_state_round_trips(run_store: RunStore) -> None:
    assert run_store.load("r1") is None
    state = RunState(run_id="r1", fingerprints={"sql": "abc"}, started_at=10.0)
    state.stages["staging"] = StageRecord("SUCCEEDED", 2, 1.5, {"staged_rows": 9})
    state.status, state.failure = "FAILED", Failure("features", "boom")
    run_store.save(state)
    loaded = run_store.load("r1")
    assert loaded is not None and loaded.to_json() == state.to_json()
    run_store.save(RunState(run_id="r0", fingerprints={}, started_at=5.0))
    assert run_store.run_ids() == ["r0", "r1"]


def test_batch_marks(run_store: RunStore) -> None:
    assert run_store.batch_marks("r1") == {}
    run_store.mark_batch("r1", 0, 10)
    run_store.mark_batch("r1", 12, 7)
    run_store.mark_batch("r1", 0, 10)  # a retried batch overwrites its own marker
    assert run_store.batch_marks("r1") == {0: 10, 12: 7}
    assert (run_store.batch_mark("r1", 12), run_store.batch_mark("r1", 1), run_store.batch_mark("r2", 0)) == (
        7,
        None,
        None,
    )


def test_the_lock_is_held_refreshed_released_and_taken_over_when_stale(run_store: RunStore) -> None:
    assert run_store.acquire_lock("r1", now=100.0, stale_after_seconds=STALE) is None
    assert run_store.acquire_lock("r1", now=101.0, stale_after_seconds=STALE) is None  # ours already
    assert run_store.acquire_lock("r2", now=150.0, stale_after_seconds=STALE) == "r1"
    run_store.refresh_lock("r1", now=390.0)
    assert run_store.acquire_lock("r2", now=600.0, stale_after_seconds=STALE) == "r1"  # 210s since the heartbeat
    run_store.release_lock("r2")  # not the holder: no effect
    assert run_store.acquire_lock("r2", now=601.0, stale_after_seconds=STALE) == "r1"
    assert run_store.acquire_lock("r2", now=691.0, stale_after_seconds=STALE) is None  # stale: taken over
    assert run_store.acquire_lock("r1", now=692.0, stale_after_seconds=STALE) == "r2"
    run_store.release_lock("r2")
    assert run_store.acquire_lock("r1", now=693.0, stale_after_seconds=STALE) is None


def test_a_batch_marker_keeps_its_tasks_own_seconds_for_the_ledger(run_store: RunStore) -> None:
    run_store.mark_batch("r1", 0, 10, seconds=1.23456)
    run_store.mark_batch("r1", 1, 10)  # a marker written before tasks measured themselves
    assert run_store.batch_seconds("r1") == {0: 1.235}
    assert run_store.batch_marks("r1") == {0: 10, 1: 10}
