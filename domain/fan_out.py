"""A list of work items a Step Functions Map reads from the object store, never from the state."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from domain.ports.object_store import ObjectStore


@dataclass(frozen=True)
class FanOut:
    """`count` items written as a JSON list at `key` (relative to the output root)."""

    count: int
    key: str


def write_fan_out(store: ObjectStore, key: str, items: Sequence[dict[str, Any]]) -> FanOut:
    store.put(key, json.dumps(list(items)).encode())
    return FanOut(len(items), key)
