"""A local folder as the ObjectStore: the data lake on a laptop."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from adapters.local.paths import TEMP_MARK, is_interrupted_write, resolve_key
from domain.ports.object_store import ObjectInfo, ObjectStore

_TEMP_MARK = TEMP_MARK


def _version(data: bytes) -> str:
    """A local object's version: its content's digest (lock payloads carry a unique token, so
    two versions never share content)."""
    return hashlib.sha256(data).hexdigest()


class FilesystemObjectStore(ObjectStore):
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return resolve_key(self.root, key)

    def _write_beside(self, path: Path, data: bytes) -> Path:
        """`data` in a new temporary file beside `path`; nothing is left if writing fails (a
        full disk, say): the caller renames or links it into place."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(f"{path.name}{_TEMP_MARK}{uuid.uuid4().hex[:8]}")
        try:
            with temp.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return temp

    @contextlib.contextmanager
    def _guarded(self, path: Path) -> Iterator[None]:
        """Compare-and-swap operations on the objects of one folder, one at a time across
        processes: an exclusive flock on the folder, which the kernel drops if the holder dies."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        # Write beside the target, then rename: a reader never sees half an object.
        temp = self._write_beside(path, data)
        try:
            os.replace(temp, path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def put_if_absent(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        with self._guarded(path):
            # Written whole first, then linked into place: link() fails if the name exists, so
            # only one writer wins, and no reader ever sees an empty or partial object.
            temp = self._write_beside(path, data)
            try:
                os.link(temp, path)
            except FileExistsError:
                return False
            finally:
                temp.unlink(missing_ok=True)
        return True

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise KeyError(key) from None

    def get_range(self, key: str, start: int, length: int) -> bytes:
        try:
            with self._path(key).open("rb") as file:
                file.seek(start)
                return file.read(length)
        except (FileNotFoundError, IsADirectoryError):
            raise KeyError(key) from None

    def get_versioned(self, key: str) -> tuple[bytes, str]:
        data = self.get(key)
        return data, _version(data)

    def put_if_version(self, key: str, data: bytes, version: str) -> bool:
        path = self._path(key)
        with self._guarded(path):
            try:
                if _version(path.read_bytes()) != version:
                    return False
            except FileNotFoundError:
                return False
            self.put(key, data)
        return True

    def delete_if_version(self, key: str, version: str) -> bool:
        path = self._path(key)
        with self._guarded(path):
            try:
                if _version(path.read_bytes()) != version:
                    return False
                path.unlink()
            except FileNotFoundError:
                return False
        return True

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[ObjectInfo]:
        base = self._path(prefix.rsplit("/", 1)[0]) if "/" in prefix else self.root
        if not base.is_dir():
            return []
        found = []
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                full = Path(dirpath, name)
                key = full.relative_to(self.root).as_posix()
                if key.startswith(prefix) and _TEMP_MARK not in key:
                    found.append(ObjectInfo(key=key, size=full.stat().st_size))
        return sorted(found, key=lambda o: o.key)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> int:
        if not prefix.endswith("/"):
            raise ValueError(f"delete_prefix needs a folder prefix ending in '/', got {prefix!r}")
        folder = self._path(prefix.rstrip("/"))
        if not folder.exists():
            return 0
        count = sum(len(files) for _d, _s, files in os.walk(folder))
        shutil.rmtree(folder)
        return count

    def reserve_space(self, key: str, size: int) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            try:
                os.posix_fallocate(fd, 0, size)  # blocks allocated, not a sparse promise
            except OSError as exc:
                if exc.errno == errno.ENOSPC:
                    raise
                os.pwrite(fd, b"\0" * size, 0)  # a filesystem without fallocate
        except BaseException:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise
        os.close(fd)

    def remove_interrupted_writes(self, prefix: str) -> int:
        base = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        removed = 0
        for dirpath, dirs, files in os.walk(base):
            for name in [d for d in dirs if is_interrupted_write(d)]:
                folder = Path(dirpath, name)
                removed += sum(len(found) for _d, _s, found in os.walk(folder)) or 1
                shutil.rmtree(folder, ignore_errors=True)
                dirs.remove(name)  # not walked into: it is gone
            for name in files:
                if is_interrupted_write(name):
                    Path(dirpath, name).unlink(missing_ok=True)
                    removed += 1
        return removed

    def uri(self, key: str) -> str:
        return str(self._path(key))
