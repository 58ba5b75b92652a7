"""`batchml rollback SPEC` for an AWS spec: the Glue table goes back to the previous published
run's files in S3 and the history is rewritten (moto's S3, Glue and Athena; the schema query
gets a canned result)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pyarrow as pa
import pytest

from adapters.aws.glue_catalog import GlueCatalog
from adapters.aws.s3_store import S3ObjectStore
from domain.layout import RunLayout, published_history_key, results_location
from entrypoints.cli import main
from tests.e2e.projects import houses_project
from tests.integration.aws.athena_support import canned, put_parquet
from tests.integration.aws.fixtures import BUCKET, REGION

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration

TABLE = "house_prices"
RESULTS = pa.table({"listing_id": ["L1"], "value": [1.0], "value_source": ["EXISTING"]})
REJECTS = pa.table({"source_file": ["in.jsonl"], "line_number": [3], "reason_code": ["invalid_json"]})


@pytest.fixture
def published_twice(s3_client: S3Client, monkeypatch: pytest.MonkeyPatch) -> GlueCatalog:
    """Runs r1 then r2 published: their files, the history, the Glue table at r2."""
    monkeypatch.setenv("BATCHML_AWS_REGION", REGION)
    monkeypatch.setenv("BATCHML_ATHENA_OUTPUT", f"s3://{BUCKET}/athena-results/")
    monkeypatch.setenv("BATCHML_GLUE_DATABASE", "lake_db")
    store = S3ObjectStore(s3_client, BUCKET, "")
    for run in ("r1", "r2"):
        put_parquet(store, results_location(TABLE, run) + "part-00000.parquet", RESULTS)
        put_parquet(store, RunLayout(run, TABLE).rejects.location + "part-00000.parquet", REJECTS)
    # As an older batchml wrote it: the runs, not their tables (rollback reads their schemas).
    store.put(published_history_key(TABLE), json.dumps({"runs": ["r1", "r2"]}).encode())
    catalog = GlueCatalog(boto3.client("glue", region_name=REGION), "lake_db", BUCKET)
    catalog.publish(TABLE, RESULTS.schema, results_location(TABLE, "r2"))
    return catalog


def test_rollback_points_the_glue_table_at_the_previous_run(
    published_twice: GlueCatalog, s3_client: S3Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = houses_project(tmp_path, 0, pipeline={"backend": "aws"}, output={"root": f"s3://{BUCKET}"})
    canned([("listing_id", "varchar"), ("value", "double"), ("value_source", "varchar")], [])
    canned([("source_file", "varchar"), ("line_number", "bigint"), ("reason_code", "varchar")], [])

    assert main(["rollback", str(spec)]) == 0

    assert published_twice.location(TABLE) == results_location(TABLE, "r1")
    assert published_twice.location(f"{TABLE}_rejects") == RunLayout("r1", TABLE).rejects.location  # both tables
    history = s3_client.get_object(Bucket=BUCKET, Key=published_history_key(TABLE))["Body"].read()
    pointer = json.loads(history)
    assert (pointer["runs"], pointer["shown"]) == (["r1", "r2"], "r1")  # publish order kept
    out = " ".join(capsys.readouterr().out.split())
    assert f"table {TABLE} now shows run r1 (s3://{BUCKET}/{results_location(TABLE, 'r1')})" in out


def test_rollback_to_a_run_that_was_not_kept_is_refused(
    published_twice: GlueCatalog, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = houses_project(tmp_path, 0, pipeline={"backend": "aws"}, output={"root": f"s3://{BUCKET}"})
    assert main(["rollback", str(spec), "--to", "r0"]) == 2
    assert "run r0 is not among the kept published runs ['r1', 'r2']" in capsys.readouterr().err
    assert published_twice.location(TABLE) == results_location(TABLE, "r2")
