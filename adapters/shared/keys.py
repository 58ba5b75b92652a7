"""Object keys under an output root: relative, '/'-separated, never escaping the root.

The rule of `domain.ports.object_store`, for adapters that do not map keys to local paths
(an S3 prefix). The same rule as the local folder's, so a key is valid on both or on neither.
"""

from __future__ import annotations

from pathlib import PurePosixPath


def check_key(key: str) -> str:
    """`key` itself if it stays inside the root (an empty key means the root), else ValueError."""
    if key.startswith("/") or "\\" in key or ".." in PurePosixPath(key).parts:
        raise ValueError(f"key {key!r} must be a relative path inside the output root")
    return key


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix"); ValueError for anything else."""
    if not uri.startswith("s3://"):
        raise ValueError(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"{uri!r} names no bucket")
    return bucket, key


def folder_prefix(prefix: str) -> str:
    """'' stays '' (the bucket's top); anything else ends with exactly one '/'."""
    prefix = prefix.strip("/")
    return f"{prefix}/" if prefix else ""
