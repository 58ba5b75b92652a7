"""An S3 prefix as the ObjectStore: the data lake on AWS."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from adapters.shared.keys import check_key, folder_prefix
from domain.ports.object_store import ObjectInfo, ObjectStore

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MIB = 1024 * 1024
# S3 refuses multipart parts under 5 MiB (except the last), so neither number may go below it.
DEFAULT_MULTIPART_BYTES = 16 * MIB
DELETE_BATCH = 1000  # the most keys one DeleteObjects call takes


# A conditional request that lost: 412 the object changed, 409 a concurrent conditional write
# is in flight, 404 the object is gone.
_LOST_RACE = ("PreconditionFailed", "ConditionalRequestConflict", "412", "409", "NoSuchKey", "404")


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


class S3ObjectStore(ObjectStore):
    """Keys are relative to `s3://bucket/prefix/`.

    S3 gives the port's atomicity for free: a PUT (or a completed multipart upload) replaces
    the object whole, so a reader never sees a part. `put_if_absent` is a conditional write
    (`If-None-Match: *`), which S3 evaluates atomically: of two racing writers, one wins.
    """

    def __init__(
        self, client: S3Client, bucket: str, prefix: str = "", *, multipart_bytes: int = DEFAULT_MULTIPART_BYTES
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = folder_prefix(prefix)
        self.multipart_bytes = multipart_bytes
        self.transfer = TransferConfig(multipart_threshold=multipart_bytes, multipart_chunksize=multipart_bytes)

    def full_key(self, key: str) -> str:
        """The key in the bucket (with the store's prefix), e.g. for a Step Functions item reader."""
        return self.prefix + check_key(key)

    def _relative(self, full_key: str) -> str:
        return full_key[len(self.prefix) :]

    def put(self, key: str, data: bytes) -> None:
        if len(data) < self.multipart_bytes:  # most objects (state, markers): one plain PUT
            self.client.put_object(Bucket=self.bucket, Key=self.full_key(key), Body=data)
            return
        self.client.upload_fileobj(io.BytesIO(data), self.bucket, self.full_key(key), Config=self.transfer)

    def put_file(self, key: str, path: Path) -> None:
        """Upload a local file (a Parquet part written on disk), multipart when it is large."""
        self.client.upload_file(str(path), self.bucket, self.full_key(key), Config=self.transfer)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.full_key(key), Body=data, IfNoneMatch="*")
        except ClientError as exc:
            # 412: the object exists. 409: a concurrent conditional write to the same key is in
            # flight; one of the two wins, and it is not this one.
            if error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409"):
                return False
            raise
        return True

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.full_key(key))["Body"].read()
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                raise KeyError(key) from None
            raise

    def get_range(self, key: str, start: int, length: int) -> bytes:
        if length <= 0:
            return b""
        # An HTTP byte range is inclusive at both ends; S3 stops it at the object's end.
        byte_range = f"bytes={start}-{start + length - 1}"
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.full_key(key), Range=byte_range)["Body"].read()
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                raise KeyError(key) from None
            if error_code(exc) in ("InvalidRange", "416"):
                return b""  # the range starts at or past the object's end
            raise

    def get_versioned(self, key: str) -> tuple[bytes, str]:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.full_key(key))
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                raise KeyError(key) from None
            raise
        return response["Body"].read(), response["ETag"]

    def put_if_version(self, key: str, data: bytes, version: str) -> bool:
        # S3 evaluates If-Match atomically: the write lands only on the object read at `version`.
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.full_key(key), Body=data, IfMatch=version)
        except ClientError as exc:
            if error_code(exc) in _LOST_RACE:
                return False
            raise
        return True

    def delete_if_version(self, key: str, version: str) -> bool:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.full_key(key), IfMatch=version)
        except ClientError as exc:
            if error_code(exc) in _LOST_RACE:
                return False
            raise
        return True

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.full_key(key))
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True

    def _iter(self, prefix: str) -> Iterator[ObjectInfo]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.full_key(prefix))
        for page in pages:
            for item in page.get("Contents", []):
                yield ObjectInfo(key=self._relative(item["Key"]), size=int(item["Size"]))

    def list(self, prefix: str) -> list[ObjectInfo]:
        return sorted(self._iter(prefix), key=lambda o: o.key)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.full_key(key))

    def delete_prefix(self, prefix: str) -> int:
        if not prefix.endswith("/"):
            raise ValueError(f"delete_prefix needs a folder prefix ending in '/', got {prefix!r}")
        keys = [self.full_key(o.key) for o in self._iter(prefix)]
        for start in range(0, len(keys), DELETE_BATCH):
            chunk = keys[start : start + DELETE_BATCH]
            result = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
            )
            errors = result.get("Errors", [])
            if errors:
                first = errors[0]
                raise OSError(
                    f"could not delete {len(errors)} object(s) under {self.uri(prefix)}, "
                    f"e.g. {first.get('Key')}: {first.get('Code')} {first.get('Message')}"
                )
        return len(keys)

    def reserve_space(self, key: str, size: int) -> None:
        pass  # S3 does not fill up

    def remove_interrupted_writes(self, prefix: str) -> int:
        """A PUT lands whole or not at all; what a cut-short multipart upload leaves are its
        parts, billed until the upload is aborted."""
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=self.full_key(prefix)
        )
        uploads = [(u["Key"], u["UploadId"]) for page in pages for u in page.get("Uploads", [])]
        for key, upload_id in uploads:
            with contextlib.suppress(ClientError):  # finished or aborted meanwhile
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        return len(uploads)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.full_key(key)}"
