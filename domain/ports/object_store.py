"""ObjectStore: keys and bytes under the output root (a local folder, or an S3 prefix)."""

from __future__ import annotations

import abc
from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int


class ObjectStore(abc.ABC):
    """Keys are relative, '/'-separated paths under the store's root; they never start with
    '/' nor contain '..' (adapters refuse such keys, so nothing can escape the root).
    """

    @abc.abstractmethod
    def put(self, key: str, data: bytes) -> None:
        """Write `data` at `key`, replacing any object there. Atomic: a reader sees the old
        object or the new one, never a part."""

    @abc.abstractmethod
    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Write `data` only if nothing is at `key`. True if written. Used for locks."""

    @abc.abstractmethod
    def get(self, key: str) -> bytes:
        """The object's bytes; KeyError if there is none."""

    @abc.abstractmethod
    def get_range(self, key: str, start: int, length: int) -> bytes:
        """`length` bytes of the object from `start` (fewer at its end); KeyError if there is
        none. For reading a Parquet file's footer and row groups without the whole file."""

    @abc.abstractmethod
    def get_versioned(self, key: str) -> tuple[bytes, str]:
        """The object's bytes and a tag that changes whenever it is replaced; KeyError if none."""

    @abc.abstractmethod
    def put_if_version(self, key: str, data: bytes, version: str) -> bool:
        """Compare-and-swap: replace the object only if it is still at `version` (as
        `get_versioned` gave it). True if written; of two racing writers, at most one wins."""

    @abc.abstractmethod
    def delete_if_version(self, key: str, version: str) -> bool:
        """Delete the object only if it is still at `version`. True if deleted."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    def list(self, prefix: str) -> list[ObjectInfo]:
        """Every object whose key starts with `prefix`, sorted by key."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove one object; no error if it is absent."""

    @abc.abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under `prefix` (which must end with '/'); returns how many."""

    @abc.abstractmethod
    def reserve_space(self, key: str, size: int) -> None:
        """Hold `size` bytes of the store's disk at `key` (an object nobody reads): deleting it
        later frees room for a write that found the disk full. A store with no disk of its own
        to fill (S3) does nothing."""

    @abc.abstractmethod
    def remove_interrupted_writes(self, prefix: str) -> int:
        """Remove what writes cut short left under `prefix` (temporary files and folders,
        unfinished uploads), which `list` never shows; returns how many. Only safe while no
        write is under way there: pre-cleanup calls it holding the root's lock."""

    @abc.abstractmethod
    def uri(self, key: str) -> str:
        """Where a user finds `key` (a local path or an s3:// URI), for messages."""
