"""Keys under the output root -> local paths, refusing anything that would leave the root."""

from __future__ import annotations

from pathlib import Path, PurePosixPath


def resolve_key(root: Path, key: str) -> Path:
    parts = PurePosixPath(key).parts
    if key.startswith("/") or ".." in parts or "\\" in key:
        raise ValueError(f"key {key!r} must be a relative path inside the output root")
    return root.joinpath(*parts)
