"""Retry arithmetic shared by the local orchestrator and the Step Functions compiler."""

from __future__ import annotations

import errno
import random

from domain.errors import BatchmlError, DataQualityError, SchemaMismatchError, SpecError, VerificationError
from domain.spec import RetrySpec

# Errors that a retry cannot fix: bad spec, bad data, failed verification.
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    SpecError,
    DataQualityError,
    SchemaMismatchError,
    VerificationError,
)


def backoff_delay(policy: RetrySpec, retry_number: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number `retry_number` (1 = first retry).

    Same formula as Step Functions: interval * backoff_rate^(n-1), capped at max_delay, and
    with FULL jitter a uniform draw between 0 and that value.
    """
    base = min(policy.interval_seconds * policy.backoff_rate ** (retry_number - 1), policy.max_delay_seconds)
    if policy.jitter == "full":
        return (rng or random.Random()).uniform(0.0, base)
    return base


# How every layer words ENOSPC: Python's OSError, DuckDB's I/O errors, a task's last error line.
_DISK_FULL_TEXT = "No space left on device"


def is_disk_full(error: BaseException) -> bool:
    """Whether `error`, or an error it was raised from, is the disk running out of space."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno == errno.ENOSPC:
            return True
        if _DISK_FULL_TEXT in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def is_retryable(error: BaseException) -> bool:
    if isinstance(error, PERMANENT_ERRORS) or is_disk_full(error):  # a retry would only fill it again
        return False
    # A BatchmlError that declares itself not transient (e.g. a SQL syntax error) is final.
    return not (isinstance(error, BatchmlError) and getattr(error, "transient", None) is False)
