"""The schema of a Parquet object in S3, from its footer alone (two small ranged GETs at most)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MAGIC = b"PAR1"
TAIL_BYTES = 64 * 1024


def _tail(client: S3Client, bucket: str, key: str, size: int, length: int) -> bytes:
    start = max(size - length, 0)
    return client.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{size - 1}")["Body"].read()


def parquet_schema(client: S3Client, bucket: str, key: str, size: int) -> pa.Schema:
    if size < 12:
        raise ValueError(f"s3://{bucket}/{key} is too small to be a Parquet file")
    tail = _tail(client, bucket, key, size, TAIL_BYTES)
    if tail[-4:] != MAGIC:
        raise ValueError(f"s3://{bucket}/{key} is not a Parquet file")
    footer_length = int.from_bytes(tail[-8:-4], "little")
    if footer_length + 8 > len(tail):
        tail = _tail(client, bucket, key, size, footer_length + 8)
    # The footer is self-contained: framed by the magic bytes, pyarrow reads the schema from it.
    return pq.read_schema(pa.BufferReader(MAGIC + tail[-(footer_length + 8) :]))
