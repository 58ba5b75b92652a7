"""Helpers for the Athena tests: canned moto results, the statements moto received, Parquet in S3."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from moto.athena.models import athena_backends
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.moto_api._internal.models import moto_api_backend

from adapters.aws.s3_store import S3ObjectStore
from tests.integration.aws.fixtures import REGION


def athena_backend() -> Any:
    return athena_backends[DEFAULT_ACCOUNT_ID][REGION]


def sent() -> list[str]:
    """Every statement moto's Athena received, in order."""
    return [execution.query for execution in athena_backend().executions.values()]


def canned(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[str | None]]) -> None:
    """What the NEXT query moto starts returns: Athena's shape, the header row first."""
    info = [{"Name": n, "Label": n, "Type": t} for n, t in columns]
    header = [{"Data": [{"VarCharValue": n} for n, _ in columns]}]
    data = [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows]
    moto_api_backend.set_athena_result(
        rows=header + data, column_info=info, account_id=DEFAULT_ACCOUNT_ID, region=REGION
    )


def no_result() -> None:
    """A statement without a result set (a CTAS, an INSERT) takes its turn in moto's queue."""
    moto_api_backend.set_athena_result(rows=[], column_info=[], account_id=DEFAULT_ACCOUNT_ID, region=REGION)


def put_parquet(store: S3ObjectStore, key: str, table: pa.Table) -> None:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    store.put(key, sink.getvalue())
