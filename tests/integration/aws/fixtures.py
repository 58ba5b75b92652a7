"""Moto-backed AWS clients for the integration tests: in-process, no network, no account.

Imported by the conftest files of tests/integration/aws and tests/integration/contract.
"""

from __future__ import annotations

import contextlib
import socket
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import tomli_w
from moto import mock_aws
from moto.server import ThreadedMotoServer

from adapters.aws.s3_store import S3ObjectStore

if TYPE_CHECKING:
    from mypy_boto3_athena import AthenaClient
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_s3 import S3Client

REGION = "us-east-1"
BUCKET = "batchml-lake"
PREFIX = "team/lake"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto as an HTTP server on loopback, for clients that cannot be mocked in process
    (pyarrow's S3 filesystem, child processes); yields its endpoint URL."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@contextlib.contextmanager
def moto_server_env(monkeypatch: pytest.MonkeyPatch, **extra: str) -> Iterator[str]:
    """moto's server, and the environment the CLI reads to reach it (dummy credentials, the
    region, BATCHML_AWS_ENDPOINT_URL), plus `extra` variables; yields its endpoint URL."""
    with moto_server() as url:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "BATCHML_AWS_REGION": REGION,
            "BATCHML_AWS_ENDPOINT_URL": url,
            **extra,
        }.items():
            monkeypatch.setenv(name, value)
        yield url


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every AWS call inside the test goes to moto; dummy credentials, so nothing real is reachable."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "BATCHML_AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        yield


@pytest.fixture
def s3_client(aws: None) -> S3Client:
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def glue_client(aws: None) -> GlueClient:
    return boto3.client("glue", region_name=REGION)


@pytest.fixture
def athena_client(aws: None) -> AthenaClient:
    return boto3.client("athena", region_name=REGION)


@pytest.fixture
def ecs_client(aws: None) -> ECSClient:
    return boto3.client("ecs", region_name=REGION)


@pytest.fixture
def s3_store(s3_client: S3Client) -> S3ObjectStore:
    return S3ObjectStore(s3_client, BUCKET, PREFIX, multipart_bytes=5 * 1024 * 1024)


SOURCE_URI = "s3://raw-source/in/"
EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "age"


def write_aws_spec(folder: Path, *, sql_dir: str = "sql", retry: dict[str, Any] | None = None) -> Path:
    """The age example's spec for the aws backend: source and root in (moto's) S3, SQL files
    in a sub-folder named relative to the spec."""
    data = tomllib.loads((EXAMPLE / "spec.toml").read_text())
    if retry:
        data.setdefault("retry", {}).update(retry)
    data["pipeline"]["backend"] = "aws"
    data["source"]["path"] = SOURCE_URI
    data["output"]["root"] = f"s3://{BUCKET}/{PREFIX}"
    (folder / sql_dir).mkdir(parents=True, exist_ok=True)
    for key in ("staging", "features"):
        (folder / sql_dir / f"{key}.sql").write_text((EXAMPLE / f"{key}.sql").read_text())
        data["sql"][key] = f"{sql_dir}/{key}.sql"
    spec_file = folder / "spec.toml"
    spec_file.write_text(tomli_w.dumps(data))
    return spec_file
