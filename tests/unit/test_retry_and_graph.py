from __future__ import annotations

import random

import pytest

from domain.errors import DataQualityError, QueryError, StageError, TaskFailedError
from domain.graph import StageKind, build_graph
from domain.retry import backoff_delay, is_retryable
from domain.spec import STAGE_NAMES, PipelineSpec, RetrySpec
from tests.unit.conftest import spec_data


def test_delay_grows_by_the_backoff_rate_and_is_capped() -> None:
    policy = RetrySpec(interval_seconds=1.0, backoff_rate=2.0, max_delay_seconds=5.0, jitter="none")
    assert [backoff_delay(policy, n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]


def test_full_jitter_draws_between_zero_and_the_delay() -> None:
    policy = RetrySpec(interval_seconds=4.0, backoff_rate=1.0, jitter="full")
    rng = random.Random(7)
    draws = [backoff_delay(policy, 1, rng) for _ in range(200)]
    assert all(0.0 <= d <= 4.0 for d in draws)
    assert max(draws) - min(draws) > 2.0


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (OSError("disk"), True),
        (TaskFailedError("predict-00001", "exit 1"), True),
        (TaskFailedError("predict-00001", "bad schema", transient=False), False),
        (DataQualityError("too many rejects"), False),
        (QueryError("syntax error"), False),
        (QueryError("throttled", transient=True), True),
        (StageError("staging", "bad SQL"), False),
    ],
)
def test_what_is_retried(error: Exception, retryable: bool) -> None:
    assert is_retryable(error) is retryable


def test_graph_has_every_stage_in_order_with_its_kind_and_policy() -> None:
    spec = PipelineSpec.model_validate(spec_data(retry={"training": {"max_attempts": 6, "timeout_seconds": 99}}))
    graph = build_graph(spec)
    assert graph.names == list(STAGE_NAMES)
    assert graph.stage("training").kind is StageKind.TASK
    assert graph.stage("prediction").kind is StageKind.MAP
    assert graph.stage("staging").kind is StageKind.FUNCTION
    assert graph.stage("training").retry.max_attempts == 6
    assert graph.stage("training").timeout_seconds == 99
    assert graph.max_concurrency == spec.batches.max_concurrency


def test_a_full_disk_is_not_retried_whichever_layer_says_so() -> None:
    import errno

    from domain.errors import QueryError, TaskFailedError
    from domain.retry import is_disk_full, is_retryable

    def raised_from(cause: BaseException) -> QueryError:
        try:
            raise cause
        except OSError as inner:
            try:
                raise QueryError("DuckDB I/O error", transient=True) from inner
            except QueryError as outer:
                return outer

    full = [
        OSError(errno.ENOSPC, "No space left on device"),
        raised_from(OSError(errno.ENOSPC, "No space left on device")),
        QueryError('Could not write file "x.parquet": No space left on device', transient=True),
        TaskFailedError("predict-00001", "OSError: [Errno 28] No space left on device"),
    ]
    for error in full:
        assert is_disk_full(error) and not is_retryable(error), error
    assert not is_disk_full(OSError(errno.EIO, "I/O error")) and is_retryable(OSError(errno.EIO, "I/O error"))
