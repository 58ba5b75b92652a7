"""Specs in S3: uploaded for a run with their SQL files, fetched back and loaded."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from adapters.aws.s3_store import S3ObjectStore
from domain.errors import SpecError
from entrypoints.spec_loader import load_spec
from entrypoints.spec_source import load_spec_from, load_spec_uri, upload_spec
from tests.integration.aws.fixtures import BUCKET, PREFIX, write_aws_spec

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration


def test_a_spec_round_trips_through_s3(tmp_path: Path, s3_store: S3ObjectStore, s3_client: S3Client) -> None:
    spec_file = write_aws_spec(tmp_path)
    uri = upload_spec(spec_file, s3_store, "r1")
    assert uri == f"s3://{BUCKET}/{PREFIX}/runs/r1/spec/spec.toml"
    assert sorted(o.key for o in s3_store.list("runs/r1/spec/")) == [
        "runs/r1/spec/spec.toml",
        "runs/r1/spec/sql/features.sql",
        "runs/r1/spec/sql/staging.sql",
    ]
    assert s3_store.get("runs/r1/spec/spec.toml") == spec_file.read_bytes()  # uploaded as written
    fetched = load_spec_uri(uri, s3_client)
    local = load_spec(spec_file)
    assert fetched.sql.staging_sql == local.sql.staging_sql and fetched.output.root == local.output.root
    assert fetched.fingerprint() == local.fingerprint()  # the run computes what the user's file says
    assert load_spec_from(uri, lambda: s3_client).fingerprint() == local.fingerprint()
    assert load_spec_from(str(spec_file), lambda: pytest.fail("no S3 client for a local spec")).pipeline.name == "age"


def test_absolute_sql_paths_are_uploaded_beside_the_spec(
    tmp_path: Path, s3_store: S3ObjectStore, s3_client: S3Client
) -> None:
    spec_file = write_aws_spec(tmp_path)
    text = spec_file.read_text().replace('"sql/staging.sql"', f'"{tmp_path}/sql/staging.sql"')
    spec_file.write_text(text)
    uri = upload_spec(spec_file, s3_store, "r2")
    uploaded = tomllib.loads(s3_store.get("runs/r2/spec/spec.toml").decode())
    assert uploaded["sql"] == {"staging": "staging.sql", "features": "sql/features.sql"}
    assert load_spec_uri(uri, s3_client).sql.staging_sql == (tmp_path / "sql" / "staging.sql").read_text()


def test_problems_name_the_s3_object(tmp_path: Path, s3_store: S3ObjectStore, s3_client: S3Client) -> None:
    s3_store.put("runs/r3/spec/spec.toml", b'[pipeline]\nname = "x"\n[sql]\nstaging = "../../secret.sql"\n')
    with pytest.raises(SpecError, match="relative to the spec's S3 folder"):
        load_spec_uri(s3_store.uri("runs/r3/spec/spec.toml"), s3_client)
    s3_store.put("runs/r4/spec/spec.toml", b'[pipeline]\nname = "x"\n[sql]\nstaging = "gone.sql"\n')
    with pytest.raises(SpecError, match=r"cannot read s3://.*/runs/r4/spec/gone\.sql"):
        load_spec_uri(s3_store.uri("runs/r4/spec/spec.toml"), s3_client)
    s3_store.put("runs/r5/spec/spec.toml", b'[pipeline]\nname = "x"\n')
    with pytest.raises(SpecError, match=r"(?s)s3://.*/runs/r5/spec/spec\.toml: .*\[source\]"):
        load_spec_uri(s3_store.uri("runs/r5/spec/spec.toml"), s3_client)
    with pytest.raises(SpecError, match="cannot read"):
        load_spec_uri(s3_store.uri("runs/none/spec/spec.toml"), s3_client)


def test_the_task_main_takes_an_s3_spec_as_given() -> None:
    from entrypoints.task_main import parse

    args = parse(["--spec", "s3://lake/runs/r1/spec/spec.toml", "predict", "--run-id", "r1", "--batch", "3"])
    assert args.spec == "s3://lake/runs/r1/spec/spec.toml" and args.batch == 3
