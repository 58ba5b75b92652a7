"""Keys under the output root -> local paths, refusing anything that would leave the root."""

from __future__ import annotations

from pathlib import Path, PurePosixPath


def resolve_key(root: Path, key: str) -> Path:
    parts = PurePosixPath(key).parts
    if key.startswith("/") or ".." in parts or "\\" in key:
        raise ValueError(f"key {key!r} must be a relative path inside the output root")
    return root.joinpath(*parts)


# What an interrupted write leaves under the root: a file or folder being written beside its
# final name, or a replaced folder not yet removed. Nothing else under the root has a '.' in
# these places (run ids and table names are identifiers).
TEMP_MARK = ".tmp-"
RETIRED_MARK = ".old-"


def is_interrupted_write(name: str) -> bool:
    return TEMP_MARK in name or RETIRED_MARK in name
