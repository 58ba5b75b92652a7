"""JSON-lines objects in S3 -> the raw table's Parquet parts under the output root.

Objects are streamed (never held whole in memory) through the shared line splitter; the
Parquet goes to a local temporary file that is uploaded as one part whenever it reaches
`part_bytes`, so memory and /tmp stay bounded whatever the source's size.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import pyarrow.parquet as pq
from botocore.exceptions import BotoCoreError, ClientError

from adapters.aws.s3_store import S3ObjectStore, error_code
from adapters.shared.keys import split_s3_uri
from adapters.shared.lines import RAW_SCHEMA, iter_line_batches
from domain.errors import DataQualityError, QueryError
from domain.ports.sql_engine import IngestStats

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client

# The same file kinds as the local engine reads from a folder.
SOURCE_SUFFIXES = (".jsonl", ".json", ".ndjson", ".jsonl.gz", ".json.gz", ".ndjson.gz")
# Lambda's /tmp is 512 MiB unless configured larger: one part on disk at a time stays well under it.
DEFAULT_PART_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class SourceObject:
    bucket: str
    key: str
    size: int
    etag: str = ""

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class _Raw(io.RawIOBase):
    """A botocore body as a raw stream, so io.BufferedReader can give the splitter read1()."""

    def __init__(self, body: StreamingBody) -> None:
        self.body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self.body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _wanted(key: str) -> bool:
    name = PurePosixPath(key).name
    # Markers such as _SUCCESS and hidden files are skipped, as Spark and Hadoop write them.
    return name.endswith(SOURCE_SUFFIXES) and not name.startswith(("_", "."))


def source_objects(client: S3Client, source: str) -> list[SourceObject]:
    """One object, or every JSON-lines object under a prefix (recursively), sorted by key."""
    try:
        bucket, key = split_s3_uri(source)
    except ValueError as exc:
        raise DataQualityError(f"source {source}: the aws backend reads sources from s3:// URIs") from exc
    if key and not key.endswith("/"):
        try:
            head = client.head_object(Bucket=bucket, Key=key)
            return [SourceObject(bucket, key, int(head["ContentLength"]), head.get("ETag", ""))]
        except ClientError as exc:
            if error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
                raise
        key += "/"  # not an object: a folder-like prefix
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key)
    found = [
        SourceObject(bucket, o["Key"], int(o["Size"]), o.get("ETag", "")) for p in pages for o in p.get("Contents", [])
    ]
    return sorted((o for o in found if _wanted(o.key)), key=lambda o: o.key)


class S3LinesIngest:
    def __init__(self, client: S3Client, store: S3ObjectStore, part_bytes: int = DEFAULT_PART_BYTES) -> None:
        self.client = client
        self.store = store
        self.part_bytes = part_bytes

    @contextmanager
    def _stream(self, obj: SourceObject) -> Iterator[io.BufferedReader]:
        body = self.client.get_object(Bucket=obj.bucket, Key=obj.key)["Body"]
        try:
            yield io.BufferedReader(_Raw(body), buffer_size=1024 * 1024)
        finally:
            body.close()

    def fingerprint(self, source: str) -> str:
        """Changes whenever an object is added, removed or rewritten (its ETag changes)."""
        listing = [(o.uri, o.size, o.etag) for o in source_objects(self.client, source)]
        return hashlib.sha256(json.dumps(listing).encode()).hexdigest()[:16]

    def ingest(self, source: str, location: str) -> IngestStats:
        """Replace whatever is at `location` with the lines of `source`, as Parquet parts."""
        started = time.perf_counter()
        try:
            objects = source_objects(self.client, source)
            self.store.delete_prefix(location)
            lines = self._write_parts(objects, location)
        except (ClientError, BotoCoreError) as exc:
            transient = not isinstance(exc, ClientError) or error_code(exc) in ("SlowDown", "503", "InternalError")
            raise QueryError(f"reading {source}: {exc}", sql_name="staging ingest", transient=transient) from exc
        size = sum(o.size for o in objects)
        return IngestStats(files=len(objects), lines=lines, bytes_read=size, seconds=time.perf_counter() - started)

    def _write_parts(self, objects: list[SourceObject], location: str) -> int:
        lines = part = 0
        with tempfile.TemporaryDirectory(prefix="batchml-ingest-") as scratch:
            path = Path(scratch) / "part.parquet"
            writer = pq.ParquetWriter(path, RAW_SCHEMA, compression="snappy")
            for obj in objects:
                with self._stream(obj) as stream:
                    for batch in iter_line_batches(stream, obj.uri):
                        writer.write_batch(batch)  # one row group per block: flushed to disk as it goes
                        lines += batch.num_rows
                        if path.stat().st_size >= self.part_bytes:  # bounded /tmp: ship this part
                            writer.close()
                            self.store.put_file(f"{location}part-{part:05d}.parquet", path)
                            part += 1
                            writer = pq.ParquetWriter(path, RAW_SCHEMA, compression="snappy")
            writer.close()
            # The last part is written even when empty, so the table exists with its schema.
            self.store.put_file(f"{location}part-{part:05d}.parquet", path)
        return lines
