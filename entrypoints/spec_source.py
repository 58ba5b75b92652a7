"""Specs that live in S3: fetch one (with its SQL files) to load it, or upload one for a run.

On AWS every Lambda and Fargate task reads the run's own copy of the spec,
`s3://.../runs/RUN_ID/spec/spec.toml`, so a run keeps computing what it started with even if
the user edits their files meanwhile. SQL files are named relative to the spec's folder.
"""

from __future__ import annotations

import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import tomli_w
from botocore.exceptions import ClientError

from domain.errors import SpecError
from domain.ports.object_store import ObjectStore
from domain.spec import PipelineSpec
from entrypoints.spec_loader import load_spec

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SQL_KEYS = ("staging", "features")
SPEC_NAME = "spec.toml"


# Only the composition root imports adapters, so these two small S3-name rules live here too.
def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise SpecError(f"{uri!r} is not an s3://bucket/key URI of a spec file")
    return bucket, key


def check_key(name: str) -> str:
    """`name` if it is a relative path that stays inside the spec's folder, else ValueError."""
    if name.startswith("/") or "\\" in name or ".." in PurePosixPath(name).parts:
        raise ValueError(name)
    return name


def run_spec_prefix(run_id: str) -> str:
    return f"runs/{run_id}/spec/"


def _download(s3: S3Client, bucket: str, key: str, target: Path) -> None:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        raise SpecError(f"cannot read s3://{bucket}/{key}: {exc}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)


def fetch_spec(uri: str, s3: S3Client, folder: Path) -> Path:
    """Download the spec at `uri` and the SQL files it names into `folder`; the local spec path."""
    bucket, key = split_s3_uri(uri)
    base = PurePosixPath(key).parent
    spec_file = folder / PurePosixPath(key).name
    _download(s3, bucket, key, spec_file)
    try:
        sql = tomllib.loads(spec_file.read_text(encoding="utf-8")).get("sql", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return spec_file  # load_spec reports what is wrong with it
    for name in (sql.get(k) for k in SQL_KEYS if isinstance(sql, dict)):
        if not isinstance(name, str):
            continue
        try:
            relative = check_key(name)
        except ValueError:
            raise SpecError(f"{uri}: [sql] {name}: name SQL files relative to the spec's S3 folder") from None
        _download(s3, bucket, str(base / relative), folder / relative)
    return spec_file


def load_spec_uri(uri: str, s3: S3Client) -> PipelineSpec:
    with tempfile.TemporaryDirectory(prefix="batchml-spec-") as scratch:
        spec_file = fetch_spec(uri, s3, Path(scratch))
        try:
            return load_spec(spec_file)
        except SpecError as exc:  # name the S3 object, not the temporary copy
            raise SpecError(str(exc).replace(str(spec_file), uri)) from None


def load_spec_from(location: str, s3: Callable[[], S3Client]) -> PipelineSpec:
    """A spec from a local path or an s3:// URI (the client is only made for the latter)."""
    return load_spec_uri(location, s3()) if location.startswith("s3://") else load_spec(Path(location))


def _upload_name(name: str, taken: set[str]) -> str:
    """The SQL file's name beside the uploaded spec: as written when it is a plain relative
    path, else its file name (an absolute path means nothing on AWS)."""
    try:
        if not Path(name).is_absolute() and check_key(name) not in taken:
            return name
    except ValueError:
        pass
    base = Path(name).name
    return base if base not in taken else f"{len(taken)}_{base}"


def upload_spec(spec_file: Path, store: ObjectStore, run_id: str) -> str:
    """Copy a local spec and its SQL files to `runs/RUN_ID/spec/` in `store`; the spec's URI.

    The spec is uploaded as written unless a SQL file had to be renamed (an absolute path),
    so a run's spec normally has the same fingerprint as the user's file."""
    text = spec_file.read_text(encoding="utf-8")
    data: dict[str, Any] = tomllib.loads(text)
    sql = data.get("sql")
    prefix = run_spec_prefix(run_id)
    taken: set[str] = set()
    changed = False
    for key in SQL_KEYS:
        name = sql.get(key) if isinstance(sql, dict) else None
        if not isinstance(sql, dict) or not isinstance(name, str):
            continue
        target = _upload_name(name, taken)
        taken.add(target)
        try:
            store.put(prefix + target, (spec_file.parent / name).read_bytes())
        except OSError as exc:
            raise SpecError(f"{spec_file}: [sql] {key}: cannot read {name}: {exc}") from None
        if target != name:
            sql[key], changed = target, True
    store.put(prefix + SPEC_NAME, (tomli_w.dumps(data) if changed else text).encode())
    return store.uri(prefix + SPEC_NAME)
