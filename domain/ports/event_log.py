"""EventLog: structured events, one JSON object each (a file + terminal, or CloudWatch)."""

from __future__ import annotations

import abc
from typing import Any


class EventLog(abc.ABC):
    """Every event carries `event` (its kind) and `run_id`; stages add stage, batch, attempt,
    rows, seconds and error as they apply. The adapter adds the timestamp."""

    @abc.abstractmethod
    def emit(self, event: str, **fields: Any) -> None: ...
