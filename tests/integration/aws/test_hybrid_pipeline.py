"""The whole pipeline on the demo data with S3 (moto's server) holding every table and
artifact, DuckDB as the engine, Glue (moto) as the catalog: the S3 paths, the manifest, the
batch markers and the run state are exercised for real, through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import boto3
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pytest
import tomli_w

from examples.age.generate import generate
from tests.integration.aws.fixtures import moto_server

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "examples" / "age"
BUCKET = "hybrid-lake"


@pytest.fixture(scope="module")
def moto_env() -> Iterator[dict[str, str]]:
    with moto_server() as endpoint:
        yield {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "BATCHML_AWS_REGION": "us-east-1",
            "BATCHML_AWS_ENDPOINT_URL": endpoint,
            "BATCHML_GLUE_DATABASE": "hybrid_lake",
        }


def test_the_demo_runs_end_to_end_on_an_s3_lake(moto_env: dict[str, str], tmp_path: Path) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_env["BATCHML_AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket=BUCKET)
    report = generate(tmp_path / "data", 3000, seed=11, malformed_fraction=0.002)
    for path in report.files:
        s3.upload_file(str(path), BUCKET, f"source/{path.name}")
    spec = tomllib.loads((EXAMPLE / "spec.toml").read_text())
    spec["pipeline"]["backend"] = "hybrid"
    spec["source"]["path"] = f"s3://{BUCKET}/source/"
    spec["output"]["root"] = f"s3://{BUCKET}/lake"
    spec["batches"]["rows_per_batch"] = 500
    spec["sql"] = {"staging": str(EXAMPLE / "staging.sql"), "features": str(EXAMPLE / "features.sql")}
    (tmp_path / "spec.toml").write_text(tomli_w.dumps(spec))

    result = subprocess.run(
        [sys.executable, "-m", "entrypoints.cli", "run", str(tmp_path / "spec.toml")],
        cwd=REPO,
        env={**os.environ, **moto_env, "COLUMNS": "160"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="lake/")
        for o in page.get("Contents", [])
    ]
    (state_key,) = [k for k in keys if k.endswith("/run.json")]
    state = json.loads(s3.get_object(Bucket=BUCKET, Key=state_key)["Body"].read())
    run = state["run_id"]
    assert state["status"] == "SUCCEEDED"
    staging = state["stages"]["staging"]["report"]
    assert staging["source_lines"] == staging["staged_rows"] + staging["rejected_rows"] == report.rows
    manifest = json.loads(s3.get_object(Bucket=BUCKET, Key=f"lake/runs/{run}/batches/manifest.json")["Body"].read())
    assert len(manifest["batches"]) >= 3
    markers = [k for k in keys if k.startswith(f"lake/runs/{run}/markers/")]
    assert len(markers) == len(manifest["batches"])
    assert not [k for k in keys if f"/runs/{run}/features/" in k or f"/runs/{run}/predictions/" in k]  # cleaned up
    assert [k for k in keys if f"/runs/{run}/staging/" in k]  # published: the results table shows it

    table = boto3.client(
        "glue",
        endpoint_url=moto_env["BATCHML_AWS_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).get_table(DatabaseName="hybrid_lake", Name="age_predictions")["Table"]
    # A view joining the run's staging table to its values (their Glue tables beside it).
    assert table["TableType"] == "VIRTUAL_VIEW"
    values = table["Parameters"]["batchml_location"]
    assert values == f"results/age_predictions/run_id={run}/"
    location = f"s3://{BUCKET}/lake/{values}"
    fs = pafs.S3FileSystem(
        endpoint_override=moto_env["BATCHML_AWS_ENDPOINT_URL"].split("://")[1],
        scheme="http",
        region="us-east-1",
        access_key="testing",
        secret_key="testing",
    )
    results = ds.dataset(location.removeprefix("s3://"), filesystem=fs, format="parquet").to_table(
        columns=["id", "value_source"]
    )
    assert results.num_rows == len(set(results.column("id").to_pylist())) == staging["staged_rows"]
    assert set(results.column("value_source").to_pylist()) == {"EXISTING", "ML_PREDICTION"}
