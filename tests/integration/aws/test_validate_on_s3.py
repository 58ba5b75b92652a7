"""`batchml validate` on a spec whose source is in S3 (moto's server): the dry run samples the
first lines through pyarrow's S3 filesystem, as a hybrid run reads them, and runs staging and
features locally; nothing is written to the bucket."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from entrypoints.cli import main
from tests.e2e.projects import houses_project, listing_lines
from tests.integration.aws.fixtures import moto_server_env

pytestmark = pytest.mark.integration

BUCKET = "validate-source"


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with moto_server_env(monkeypatch) as url:
        yield url


def test_an_s3_source_is_sampled_and_dry_run(endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="in/a.jsonl.gz", Body=gzip.compress("\n".join(listing_lines(40)).encode()))
    s3.put_object(Bucket=BUCKET, Key="in/b.jsonl", Body=("\n".join(listing_lines(40, seed=4)) + "\n").encode())
    s3.put_object(Bucket=BUCKET, Key="in/_SUCCESS", Body=b"")
    spec = houses_project(tmp_path, 0, source={"path": f"s3://{BUCKET}/in/"}, output={"root": f"s3://{BUCKET}/lake"})

    assert main(["validate", str(spec), "--sample", "50"]) == 0

    out = " ".join(capsys.readouterr().out.split())
    assert "dry run on the first 50 source lines: 50 staged, 0 rejected" in out
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == [
        "in/_SUCCESS",
        "in/a.jsonl.gz",
        "in/b.jsonl",
    ]


def test_an_s3_source_that_cannot_be_read_is_an_error_naming_it(
    endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = houses_project(tmp_path, 0, source={"path": "s3://no-such-bucket/in/"})
    assert main(["validate", str(spec)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "dry run on the first 1,000 source lines:" in err
    assert "s3://no-such-bucket/in/" in err and "--sample 0 skips the dry run" in err
