"""A full disk is an ordinary failure (issue 14, finding 2): recorded although the disk is full,
not retried, the lock released, the run's intermediates removed (unless keep_intermediates), and
the next run starts cleanly. On a real small disk (a tmpfs) with the real local adapters."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from adapters.local.filesystem_store import FilesystemObjectStore
from adapters.local.jsonl_event_log import run_event_log
from adapters.local.orchestrator import LocalOrchestrator
from adapters.shared.object_store_run_store import ObjectStoreRunStore
from domain.context import RunContext
from domain.graph import build_graph
from domain.ports.task_runner import TaskOutcome, TaskRunner, TaskSpec
from domain.run_lifecycle import check_resumable, start_run
from domain.services.cleanup import run_pre_cleanup
from domain.spec import PipelineSpec
from tests.integration.lake_runs import LocalLake, parquet
from tests.integration.small_disk import fill, small_disk

pytestmark = pytest.mark.integration

FULL = "[Errno 28] No space left on device"


class DiskFillingRunner(TaskRunner):
    """Training works; each prediction task fills the disk with its output and fails as a real
    task does when its write hits ENOSPC (its last error line is the reason)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.calls = 0

    def run(self, task: TaskSpec, timeout_seconds: float) -> TaskOutcome:
        self.calls += 1
        if task.batch is None:
            return TaskOutcome(task.task_id, True, 0, "", 0.1)
        fill(self.root / "runs" / task.run_id / "predictions" / f"batch={task.batch:05d}" / "part.parquet")
        return TaskOutcome(task.task_id, False, 1, f"{FULL}: 'part.parquet'", 0.1)


def run_until_the_disk_is_full(ctx: RunContext, root: Path, where: str) -> tuple[Any, DiskFillingRunner]:
    def stage(inner: RunContext, name: str) -> dict[str, Any]:
        table = {"staging": inner.layout.staging, "features": inner.layout.features}.get(name)
        if table is not None:
            inner.ports.store.put(f"{table.location}part-00000.parquet", parquet_bytes())
        if name == "staging":
            inner.ports.store.put(f"{inner.layout.rejects.location}part-00000.parquet", parquet_bytes())
        if name == where:
            fill(root / "runs" / inner.run_id / name / "part-00001.parquet")
            with (root / "runs" / inner.run_id / name / "part-00002.parquet").open("wb", buffering=0) as handle:
                handle.write(b"\1" * 65536)  # the write that finds the disk full
        return {"stage": name}

    runner = DiskFillingRunner(root)
    orchestrator = LocalOrchestrator(
        ctx,
        build_graph(ctx.spec),
        runner,
        sleep=lambda _s: None,
        stage_function=stage,
        batches=lambda _ctx: [0, 1],
        task_report=lambda _ctx, name: {"stage": name},
    )
    state = start_run(ctx, time.time(), stale_after=300.0)
    return orchestrator.execute(state), runner


def parquet_bytes() -> bytes:
    import pyarrow as pa

    return parquet(pa.table({"id": ["a", "b"]}))


def with_options(ctx: RunContext, root: Path, **output: Any) -> RunContext:
    data = ctx.spec.model_dump()
    data["output"].update(output)
    return replace(
        ctx, spec=PipelineSpec.model_validate(data), ports=replace(ctx.ports, events=run_event_log(root, ctx.run_id))
    )


@pytest.mark.parametrize("where", ["features", "prediction"])
def test_a_full_disk_is_recorded_frees_the_root_and_the_next_run_starts(tmp_path: Path, where: str) -> None:
    with small_disk(tmp_path / "disk", 12 * 1024) as root:
        lake = LocalLake(root)
        lake.new()
        ctx = with_options(lake.context("run-full"), root)
        state, _runner = run_until_the_disk_is_full(ctx, root, where)

        assert state.status == "FAILED" and state.failure is not None and state.failure.stage == where
        assert FULL in state.failure.error or "No space left on device" in state.failure.error
        saved = ctx.ports.run_store.load("run-full")
        assert saved is not None and saved.status == "FAILED" and saved.failure == state.failure  # on the full disk
        assert state.stages[where].attempts == 1  # a retry cannot free the disk
        assert not (root / "runs" / "_lock.json").exists()
        assert [p.name for p in root.rglob("*") if ".tmp-" in p.name] == []
        for table in ctx.layout.intermediate_tables:
            assert not (root / table.location).exists(), f"{table.location} left on the full disk"
        assert (root / ctx.layout.rejects.location).exists()  # the record of the run stays
        events = (root / "runs" / "run-full" / "events.jsonl").read_text()
        assert '"event": "run_failed"' in events
        with pytest.raises(Exception, match="its intermediate data was removed"):
            check_resumable(ctx, saved, True, saved.fingerprints)

        following = lake.context("run-next")
        start_run(following, time.time(), stale_after=300.0)
        run_pre_cleanup(following)  # takes the lock and cleans up, on the disk the failed run left


def test_with_keep_intermediates_the_data_stays_and_the_failure_is_still_recorded(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", 12 * 1024) as root:
        lake = LocalLake(root)
        lake.new()
        ctx = with_options(lake.context("run-full"), root, keep_intermediates=True)
        run_until_the_disk_is_full(ctx, root, "features")
        saved = ctx.ports.run_store.load("run-full")
        assert saved is not None and saved.status == "FAILED" and saved.failure is not None
        assert "No space left on device" in saved.failure.error
        assert (root / ctx.layout.features.location).exists()
        assert not (root / "runs" / "_lock.json").exists()


def test_taking_the_lock_on_a_full_disk_fails_and_leaves_nothing(tmp_path: Path) -> None:
    """The run after a full disk used to crash in acquire_lock, leaving _lock.json.tmp-*."""
    with small_disk(tmp_path / "disk", 4096) as root:
        run_store = ObjectStoreRunStore(FilesystemObjectStore(root))
        (root / "runs").mkdir()
        fill(root / "ballast")
        with pytest.raises(OSError, match="No space left on device"):
            run_store.acquire_lock("run-1", time.time(), 300.0)
        assert sorted(p.name for p in (root / "runs").iterdir()) == []
        (root / "ballast").unlink()
        assert run_store.acquire_lock("run-1", time.time(), 300.0) is None  # room again: it starts
        fill(root / "ballast")  # full again, while the run holds its lock and its reserve
        with pytest.raises(OSError):
            FilesystemObjectStore(root).put("runs/run-1/markers/x.json", b"{}")
        assert [p.name for p in root.rglob("*") if ".tmp-" in p.name] == []
