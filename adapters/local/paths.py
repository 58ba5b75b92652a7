"""Keys under the output root -> local paths, refusing anything that would leave the root."""

from __future__ import annotations

from pathlib import Path, PurePosixPath


def resolve_key(root: Path, key: str) -> Path:
    parts = PurePosixPath(key).parts
    if key.startswith("/") or ".." in parts or "\\" in key:
        raise ValueError(f"key {key!r} must be a relative path inside the output root")
    path = root.joinpath(*parts)
    # A symbolic link under the root (ROOT/runs -> /elsewhere) must not carry a write or a
    # delete out of it: the key is checked where it really leads.
    real_root, real = root.resolve(), path.resolve()
    if real != real_root and real_root not in real.parents:
        raise ValueError(
            f"key {key!r} leaves the output root through a symbolic link ({path} leads to {real}); "
            f"the lake must lie under {real_root}"
        )
    return path


# What an interrupted write leaves under the root: a file or folder being written beside its
# final name, or a replaced folder not yet removed. Nothing else under the root has a '.' in
# these places (run ids and table names are identifiers).
TEMP_MARK = ".tmp-"
RETIRED_MARK = ".old-"


def is_interrupted_write(name: str) -> bool:
    return TEMP_MARK in name or RETIRED_MARK in name
