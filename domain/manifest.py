"""The batch manifest: which batches exist and how many rows each must produce."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class BatchEntry:
    batch: int
    rows: int


@dataclass(frozen=True)
class Manifest:
    run_id: str
    rows_per_batch: int
    batches: tuple[BatchEntry, ...]

    @property
    def total_rows(self) -> int:
        return sum(b.rows for b in self.batches)

    def entry(self, batch: int) -> BatchEntry:
        for b in self.batches:
            if b.batch == batch:
                return b
        raise KeyError(f"batch {batch} is not in the manifest of run {self.run_id}")

    def to_bytes(self) -> bytes:
        payload = {
            "run_id": self.run_id,
            "rows_per_batch": self.rows_per_batch,
            "total_rows": self.total_rows,
            # One item per batch: the Step Functions map stage iterates this list as is.
            "batches": [{"batch": b.batch, "rows": b.rows} for b in self.batches],
        }
        return json.dumps(payload, indent=1).encode()

    def items_bytes(self) -> bytes:
        return json.dumps([{"batch": b.batch, "rows": b.rows} for b in self.batches]).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        payload = json.loads(data)
        return cls(
            run_id=payload["run_id"],
            rows_per_batch=payload["rows_per_batch"],
            batches=tuple(BatchEntry(int(b["batch"]), int(b["rows"])) for b in payload["batches"]),
        )
