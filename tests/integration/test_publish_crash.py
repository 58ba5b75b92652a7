"""Publish and cleanup killed at any point: the results table and its rejects table stay on one
run, queryable, and stay so through the runs that follow (issue 14, finding 1). On a local lake
(DuckDB catalog) and on S3 with Glue (moto's server)."""

from __future__ import annotations

import itertools
import os
import random
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from adapters.aws.glue_tables import GlueTables
from adapters.aws.s3_store import S3ObjectStore
from adapters.local.duckdb_catalog import DuckDBCatalog
from domain.run_lifecycle import fail_run, start_run
from domain.services.cleanup import run_cleanup, run_pre_cleanup
from domain.services.publishing import published_runs, run_publish
from tests.integration.aws.fixtures import moto_server
from tests.integration.aws.glue_lake import GlueLake
from tests.integration.crash_points import Hook, count_calls, kill_after, kill_at
from tests.integration.lake_runs import TABLE, Lake, LocalLake, write_aggregated_run

pytestmark = pytest.mark.integration

# Every write, delete and switch a run makes: the store's and the catalog's, down to the os
# calls under the local ones (so a kill can land inside a folder's removal).
HOOKS: list[Hook] = [
    (os, "replace"),
    (os, "rename"),
    (os, "unlink"),
    (os, "rmdir"),
    (DuckDBCatalog, "publish_together"),
    (DuckDBCatalog, "drop"),
    (S3ObjectStore, "put"),
    (S3ObjectStore, "delete"),
    (S3ObjectStore, "delete_prefix"),
    (GlueTables, "create"),
    (GlueTables, "replace"),
    (GlueTables, "delete"),
]


def hooks() -> Sequence[Hook]:
    return HOOKS


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(params=["local", "glue"])
def lakes(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Lake]:
    """A new, empty lake at each call."""
    numbers = itertools.count()
    if request.param == "local":
        return lambda: LocalLake(tmp_path / f"lake-{next(numbers)}")
    endpoint = request.getfixturevalue("moto_endpoint")
    tag = request.node.name.split("[")[0][-20:].replace("_", "-")
    return lambda: GlueLake(endpoint, f"crash-{tag}-{next(numbers)}")


def new_lake(lake: Lake) -> Lake:
    """run-a published and cleaned up; run-b verified by aggregation, about to publish."""
    lake.new()
    first = lake.context("run-a")
    write_aggregated_run(first)
    run_publish(first)
    run_cleanup(first)
    write_aggregated_run(lake.context("run-b"))
    return lake


def publish_and_clean(lake: Lake, run_id: str) -> Callable[[], None]:
    def work() -> None:
        ctx = lake.context(run_id)
        run_publish(ctx)
        run_cleanup(ctx)

    return work


def failing_run(lake: Lake, run_id: str) -> None:
    """A fresh run that fails in features, after its pre-cleanup, as the CLI runs one."""
    ctx = lake.context(run_id)
    state = start_run(ctx, time.time())
    run_pre_cleanup(ctx)
    fail_run(ctx, state, "features", "injected permanent fault in stage features", time.time())


def assert_consistent(lake: Lake, when: str) -> str:
    results, rejects = lake.shown()
    assert len(results) == 1 and results == rejects, f"{when}: results show {results}, rejects {rejects}"
    (run,) = results
    return run


def shown_and_published(lake: Lake, where: str) -> str:
    shown = assert_consistent(lake, where)
    pointer = published_runs(lake.context("run-x"))
    assert shown == pointer[-1], f"{where}: the tables show {shown}, the pointer {pointer}"
    return shown


def sampled_points(points: int, seed: int) -> list[int]:
    """A random sample of the kill points (BATCHML_CRASH_POINTS of them, default 3; another
    BATCHML_CRASH_SEED tries other ones), the first and the last always among them."""
    rng = random.Random(int(os.environ.get("BATCHML_CRASH_SEED", seed)))
    wanted = min(points, int(os.environ.get("BATCHML_CRASH_POINTS", "3")))
    return sorted({1, points, *rng.sample(range(1, points + 1), wanted)})


def test_a_kill_after_the_results_table_switched_then_a_failing_run_leaves_both_tables_queryable(
    lakes: Callable[[], Lake],
) -> None:
    """The issue's reproduction: SIGKILL once the results table shows the new run (before the
    rejects table does), then a fresh run that fails: `batchml query` used to fail with "No
    files found that match the pattern .../run_id=<killed run>/**/*.parquet"."""
    lake = new_lake(lakes())
    killed = lake.context("run-b")

    def results_switched() -> bool:
        return lake.context("run-x").ports.catalog.location(TABLE) == killed.layout.results.location

    assert kill_after(hooks, publish_and_clean(lake, "run-b"), results_switched) == -signal.SIGKILL
    failing_run(lake, "run-c")
    assert shown_and_published(lake, "after the failing run") == "run-b"


@pytest.mark.parametrize("seed", [14])
def test_kills_at_many_points_in_publish_and_cleanup_leave_one_queryable_run(
    lakes: Callable[[], Lake], tmp_path: Path, seed: int
) -> None:
    points = count_calls(hooks, publish_and_clean(new_lake(lakes()), "run-b"), tmp_path / "count")
    assert points >= 5, f"only {points} kill points: the hooks miss what publish does"
    for n, point in enumerate(sampled_points(points, seed)):
        lake = new_lake(lakes())
        code = kill_at(hooks, publish_and_clean(lake, "run-b"), point)
        assert code == -signal.SIGKILL, f"point {point} of {points}: the child was not killed ({code})"
        where = f"killed at point {point} of {points} (seed {seed})"
        before = assert_consistent(lake, where) if isinstance(lake, LocalLake) else None
        failing_run(lake, "run-c")
        after = shown_and_published(lake, f"{where}, then a failing run")
        assert after in ("run-a", "run-b") and before in (None, "run-a", after), where  # never back
        if n % 2:
            continue  # a good run after every other point: enough to show the lake works on
        good = lake.context("run-d")
        write_aggregated_run(good)
        publish_and_clean(lake, "run-d")()
        assert shown_and_published(lake, f"{where}, then a good run") == "run-d"


@pytest.mark.parametrize("seed", [41])
def test_kills_at_many_points_in_the_pre_cleanup_that_finishes_a_cut_publish(
    lakes: Callable[[], Lake], tmp_path: Path, seed: int
) -> None:
    """The publish of run-b killed right after its commit point (the catalog still shows run-a),
    then the next run's pre-cleanup, which rolls the catalog forward, killed at each point."""

    def cut_publish() -> Lake:
        lake = new_lake(lakes())

        def committed() -> bool:
            return "run-b" in published_runs(lake.context("run-x"))

        assert kill_after(hooks, publish_and_clean(lake, "run-b"), committed) == -signal.SIGKILL
        assert assert_consistent(lake, "killed after the commit point") == "run-a"
        return lake

    def pre_cleanup(lake: Lake) -> Callable[[], None]:
        return lambda: failing_run(lake, "run-c")

    points = count_calls(hooks, pre_cleanup(cut_publish()), tmp_path / "count")
    for point in sampled_points(points, seed):
        lake = cut_publish()
        assert kill_at(hooks, pre_cleanup(lake), point) == -signal.SIGKILL
        where = f"pre-cleanup killed at point {point} of {points} (seed {seed})"
        if isinstance(lake, LocalLake):  # one transaction switches both: never half-way
            assert assert_consistent(lake, where) in ("run-a", "run-b")
        failing_run(lake, "run-e")
        assert shown_and_published(lake, f"{where}, then another failing run") == "run-b"
