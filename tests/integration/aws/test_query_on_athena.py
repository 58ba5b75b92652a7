"""`batchml query --spec SPEC` for an AWS spec: the SQL goes to Athena, in the deployment's
workgroup and Glue database, and the result prints like a local query's (moto's Athena, with
a canned result set)."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from entrypoints.cli import main
from tests.e2e.projects import houses_project
from tests.integration.aws.athena_support import canned, sent
from tests.integration.aws.fixtures import BUCKET, REGION

pytestmark = pytest.mark.integration

SQL = "SELECT value_source, count(*) AS n FROM house_prices GROUP BY 1 ORDER BY 1"


@pytest.fixture
def aws_spec(s3_client: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BATCHML_AWS_REGION", REGION)
    monkeypatch.setenv("BATCHML_ATHENA_WORKGROUP", "primary")
    monkeypatch.setenv("BATCHML_ATHENA_OUTPUT", f"s3://{BUCKET}/athena-results/")
    monkeypatch.setenv("BATCHML_GLUE_DATABASE", "lake_db")
    return houses_project(tmp_path, 0, pipeline={"backend": "aws"}, output={"root": f"s3://{BUCKET}"})


def test_an_aws_specs_query_runs_in_athena_and_prints_its_rows(
    aws_spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    canned([("value_source", "varchar"), ("n", "bigint")], [["EXISTING", "3"], ["ML_PREDICTION", "5"]])

    assert main(["query", SQL, "--spec", str(aws_spec), "--format", "csv"]) == 0

    assert capsys.readouterr().out.splitlines() == ['"value_source","n"', '"EXISTING",3', '"ML_PREDICTION",5']
    assert sent() == [SQL]
    athena = boto3.client("athena", region_name=REGION)
    (execution_id,) = athena.list_query_executions()["QueryExecutionIds"]
    execution = athena.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
    assert (execution["WorkGroup"], execution["QueryExecutionContext"]["Database"]) == ("primary", "lake_db")


def test_a_runs_own_tables_are_not_offered_on_aws(aws_spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["query", SQL, "--spec", str(aws_spec), "--run", "r1"]) == 2
    assert "--run: a run's working tables on AWS are dropped at cleanup" in capsys.readouterr().err
    assert sent() == []


def test_a_local_specs_query_still_reads_the_local_catalog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = houses_project(tmp_path, 0)
    assert main(["query", "SELECT 1", "--spec", str(spec)]) == 2
    assert f"no catalog at {tmp_path / 'lake' / 'catalog.duckdb'}" in " ".join(capsys.readouterr().err.split())
