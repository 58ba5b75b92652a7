"""The batch manifest: which batches exist, how many rows each must produce, and whether their
rows were copied out (the scoring table's partitions) or are slices of the features table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class RowGroupSlice:
    """Scoring rows `start` to `stop` (counted among the row group's rows without a label, in
    file order) of row group `row_group` of the features file `key`. `size` and `rows` are the
    file's bytes and the group's rows when the batch was planned: the task checks them."""

    key: str
    size: int
    row_group: int
    rows: int
    start: int
    stop: int

    @property
    def scoring_rows(self) -> int:
        return self.stop - self.start


def slices_to_bytes(slices: Sequence[RowGroupSlice]) -> bytes:
    return json.dumps([asdict(s) for s in slices]).encode()


def slices_from_bytes(data: bytes) -> tuple[RowGroupSlice, ...]:
    return tuple(RowGroupSlice(**s) for s in json.loads(data))


@dataclass(frozen=True)
class BatchEntry:
    batch: int
    rows: int


@dataclass(frozen=True)
class Manifest:
    run_id: str
    rows_per_batch: int
    batches: tuple[BatchEntry, ...]
    # True: each batch's rows are slices of the features table's row groups, listed in the
    # batch's own object (RunLayout.batch_slices_key). False: its partition of the scoring table.
    sliced: bool = False

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
            "sliced": self.sliced,
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
            sliced=bool(payload.get("sliced", False)),
        )
