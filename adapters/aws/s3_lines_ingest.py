"""JSON-lines objects in S3 -> the raw table's Parquet parts, one bounded item at a time.

The plan cuts the source into items: a plain object larger than the item size is read in byte
ranges, so one item's time is bounded whatever the object's size (each item is one Lambda
invocation, and Lambda stops at 900 s); a compressed object cannot be split and is one item, up
to MAX_COMPRESSED_ITEM_BYTES. An item streams its bytes through the shared line splitter into
local Parquet files uploaded as parts of at most `part_bytes`, so memory and /tmp stay bounded.
"""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq
from botocore.exceptions import BotoCoreError, ClientError

from adapters.aws.s3_store import S3ObjectStore, error_code
from adapters.shared.keys import split_s3_uri
from adapters.shared.lines import RAW_SCHEMA, iter_line_batches
from adapters.shared.source_files import compression_of, readable
from domain.errors import DataQualityError, QueryError
from domain.ports.sql_engine import IngestItem

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client

# Lambda's /tmp is 512 MiB unless configured larger: one part on disk at a time stays well under it.
DEFAULT_PART_BYTES = 256 * 1024 * 1024
# A gzip, bz2 or zstd stream is read from its start: such an object is one item whatever its
# size. 1 GiB compressed is ~10 GiB of JSON at a 10x ratio, ~3 minutes at the measured rate:
# inside Lambda's 900 s with room to spare (adapters/aws/limits.py checks it).
MAX_COMPRESSED_ITEM_BYTES = 1 << 30
_READ_BYTES = 1024 * 1024


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


class _Range(io.RawIOBase):
    """The bytes of the lines that START in [start, end) of an object, from a stream that begins
    at max(start - 1, 0): the byte before `start` tells whether a line starts at `start`; the
    last line is read past `end` to its newline (or the object's end)."""

    def __init__(self, stream: io.BufferedReader[Any], start: int, end: int) -> None:
        self.stream, self.position, self.end = stream, start, end
        self.done, self.at_line_start = False, True
        if start > 0 and stream.read(1) != b"\n":
            self._skip_line()

    def _skip_line(self) -> None:
        """The line under way at `start` belongs to the range before: drop it, newline included."""
        while chunk := self.stream.peek(_READ_BYTES)[:_READ_BYTES]:
            newline = chunk.find(b"\n")
            self.position += len(self.stream.read(len(chunk) if newline < 0 else newline + 1))
            if newline >= 0:
                self.done = self.position >= self.end  # the next line starts in the next range
                return
        self.done = True  # the object ended inside that line

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.done or (self.position >= self.end and self.at_line_start):
            return 0
        chunk = self.stream.peek(len(buffer))[: len(buffer)]
        if not chunk:
            return 0
        if self.position < self.end:
            chunk = chunk[: self.end - self.position]
        else:  # past the range: only the rest of its last line
            newline = chunk.find(b"\n")
            if newline >= 0:
                chunk, self.done = chunk[: newline + 1], True
        data = self.stream.read(len(chunk))
        buffer[: len(data)] = data
        self.position += len(data)
        self.at_line_start = data.endswith(b"\n")
        return len(data)


def source_objects(client: S3Client, source: str) -> list[SourceObject]:
    """One object, or every object under a prefix (recursively), sorted by key; an object no
    reader takes is refused by name (adapters/shared/source_files.py)."""
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
    found = {
        f"s3://{bucket}/{o['Key']}": SourceObject(bucket, o["Key"], int(o["Size"]), o.get("ETag", ""))
        for p in pages
        for o in p.get("Contents", [])
        if not o["Key"].endswith("/")  # folder markers some tools write
    }
    return [found[uri] for uri in readable(source, sorted(found))]


def plan_items(objects: list[SourceObject], max_item_bytes: int) -> list[IngestItem]:
    items: list[IngestItem] = []
    for obj in objects:
        if compression_of(obj.key) is not None or obj.size <= max_item_bytes:
            if compression_of(obj.key) is not None and obj.size > MAX_COMPRESSED_ITEM_BYTES:
                raise DataQualityError(
                    f"source object {obj.uri} is {obj.size / 2**30:.1f} GiB compressed: a compressed object is "
                    f"read whole by one Lambda invocation, so it may be at most {MAX_COMPRESSED_ITEM_BYTES >> 30} GiB; "
                    "split it into smaller objects (or store it uncompressed: plain objects are read in ranges)"
                )
            items.append(IngestItem(len(items), obj.uri, obj.size))
            continue
        for start in range(0, obj.size, max_item_bytes):
            end = min(start + max_item_bytes, obj.size)
            items.append(IngestItem(len(items), obj.uri, end - start, start, end))
    return items


def part_key(location: str, item: int, part: int) -> str:
    """Parts carry their item's number, which the raw view reads back through "$path"."""
    return f"{location}part-{item:05d}-{part:03d}.parquet"


class S3LinesIngest:
    def __init__(self, client: S3Client, store: S3ObjectStore, part_bytes: int = DEFAULT_PART_BYTES) -> None:
        self.client = client
        self.store = store
        self.part_bytes = part_bytes

    def fingerprint(self, source: str) -> str:
        """Changes whenever an object is added, removed or rewritten (its ETag changes)."""
        listing = [(o.uri, o.size, o.etag) for o in source_objects(self.client, source)]
        return hashlib.sha256(json.dumps(listing).encode()).hexdigest()[:16]

    def plan(self, source: str, max_item_bytes: int) -> list[IngestItem]:
        try:
            return plan_items(source_objects(self.client, source), max_item_bytes)
        except (ClientError, BotoCoreError) as exc:
            raise _read_error(source, exc) from exc

    @contextmanager
    def _stream(self, item: IngestItem) -> Iterator[io.BufferedReader[Any]]:
        bucket, key = split_s3_uri(item.source_file)
        first = max(item.start - 1, 0)
        request = {"Bucket": bucket, "Key": key, **({"Range": f"bytes={first}-"} if item.is_range else {})}
        body = self.client.get_object(**request)["Body"]  # type: ignore[arg-type]
        try:
            reader: io.BufferedReader[Any] = io.BufferedReader(_Raw(body), buffer_size=_READ_BYTES)
            if item.end is not None:
                reader = io.BufferedReader(_Range(reader, item.start, item.end), buffer_size=_READ_BYTES)
            yield reader
        finally:
            body.close()

    def ingest(self, item: IngestItem, location: str) -> int:
        """Replace the item's parts under `location` with its lines; returns how many."""
        try:
            for stale in self.store.list(f"{location}part-{item.index:05d}-"):  # a retried item starts clean
                self.store.delete(stale.key)
            return self._write_parts(item, location)
        except (ClientError, BotoCoreError) as exc:
            raise _read_error(item.source_file, exc) from exc

    def _write_parts(self, item: IngestItem, location: str) -> int:
        lines = part = 0
        with tempfile.TemporaryDirectory(prefix="batchml-ingest-") as scratch:
            path = Path(scratch) / "part.parquet"
            writer = pq.ParquetWriter(path, RAW_SCHEMA, compression="snappy")
            with self._stream(item) as stream:
                for batch in iter_line_batches(stream, item.source_file, strip_bom=item.start == 0):
                    writer.write_batch(batch)  # one row group per block: flushed to disk as it goes
                    lines += batch.num_rows
                    if path.stat().st_size >= self.part_bytes:  # bounded /tmp: ship this part
                        writer.close()
                        self.store.put_file(part_key(location, item.index, part), path)
                        part += 1
                        writer = pq.ParquetWriter(path, RAW_SCHEMA, compression="snappy")
            writer.close()
            # The last part is written even when empty, so the table exists with its schema.
            self.store.put_file(part_key(location, item.index, part), path)
        return lines


def _read_error(source: str, exc: ClientError | BotoCoreError) -> QueryError:
    transient = not isinstance(exc, ClientError) or error_code(exc) in ("SlowDown", "503", "InternalError")
    return QueryError(f"reading {source}: {exc}", sql_name="staging ingest", transient=transient)
