"""The whole pipeline on the AWS side, each step as Step Functions calls it, with every AWS call
answered by an emulator that does the work: S3 and Glue (moto), Athena running the SQL for real
with Athena's limits (the Athena emulator), the Fargate tasks' command run in this process.

The steps follow the compiled state machine: a Lambda stage is invoked again while it answers
RUNNING (its wait budget is a second here, and the emulated Athena keeps each query running for
a few polls, so stages do return RUNNING and find their queries again); staging hands out its
ingest items, a large object cut into byte ranges; the prediction Map runs the batches the plan
hands out. The published table must hold what a local run of the same data holds.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from dependency_injector import providers

from adapters.local.duckdb_catalog import DuckDBCatalog
from entrypoints import containers, lambda_handlers, task_main
from entrypoints.cli import main as cli_main
from entrypoints.spec_source import upload_spec
from examples.age.generate import generate
from tests.integration.aws.athena_emulator import AthenaEmulator, Progression, WorkGroup
from tests.integration.aws.emulator_support import as_client
from tests.integration.aws.fixtures import BUCKET, PREFIX, write_aws_spec
from tests.integration.aws.limits_harness import check_lambda_invocation, check_payload

if TYPE_CHECKING:
    from mypy_boto3_glue import GlueClient
    from mypy_boto3_s3 import S3Client

pytestmark = pytest.mark.integration

RUN = "r1"
OUTPUT = f"s3://{BUCKET}/athena-results/"


class LambdaContext:
    """61 s left: the handler keeps a minute's margin, so it waits for its queries 1 s at most."""

    def get_remaining_time_in_millis(self) -> int:
        return 61_000


@pytest.fixture
def emulated(s3_client: S3Client, glue_client: GlueClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[AthenaEmulator]:
    """The composition root's Athena client is the emulator: the Container's own provider is
    overridden (dependency-injector), everything else is what a Lambda would build."""
    athena = AthenaEmulator(
        s3_client,
        glue_client,
        workgroups=[WorkGroup("primary", output_location=OUTPUT)],
        progression=Progression(queued_polls=1, running_polls=3),
    )
    monkeypatch.setenv("BATCHML_GLUE_DATABASE", "batchml_it")
    monkeypatch.setenv("BATCHML_ATHENA_OUTPUT", OUTPUT)
    monkeypatch.setenv("BATCHML_BACKEND", "aws")
    containers.aws_client.cache_clear()  # clients of this test's moto, not an earlier one's
    containers.Container.athena.override(providers.Object(as_client(athena)))
    try:
        yield athena
    finally:
        containers.Container.athena.reset_override()
        containers.aws_client.cache_clear()


def invoked(name: str, call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """One Lambda invocation, held to Lambda's and Step Functions' limits (the limits harness)."""
    started = time.perf_counter()
    answer = call()
    check_lambda_invocation(name, time.perf_counter() - started)
    check_payload(f"{name}'s answer", answer)
    return answer


def until_done(step: Callable[[], dict[str, Any]], invocations: list[str], name: str) -> dict[str, Any]:
    """A Lambda stage's continuation loop: invoke again while it answers RUNNING."""
    for _ in range(200):
        answer = invoked(name, step)
        invocations.append(f"{name}:{answer['status']}")
        if answer["status"] != "RUNNING":
            return answer
    raise AssertionError(f"{name} still RUNNING after 200 invocations")


def listed(s3: S3Client, answer: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(
        s3.get_object(Bucket=answer["bucket"], Key=answer["items_key"])["Body"].read()
    )
    assert len(items) == answer["count"]
    return items


def test_the_pipeline_runs_through_its_lambdas_and_tasks_on_emulated_aws(
    emulated: AthenaEmulator, s3_client: S3Client, s3_store: Any, tmp_path: Path
) -> None:
    data = generate(tmp_path / "data", 3000, seed=5, malformed_fraction=0.01, rows_per_file=2000)
    s3_client.create_bucket(Bucket="raw-source")
    for path in data.files:
        s3_client.put_object(Bucket="raw-source", Key=f"in/{path.name}", Body=path.read_bytes())
    spec_file = write_aws_spec(tmp_path / "aws", retry={"default": {"max_attempts": 1}})
    text = spec_file.read_text().replace("[source]", "[source]\ningest_item_mb = 1", 1)  # ranges of 1 MB
    spec_file.write_text(text.replace("rows_per_batch = 250000", "rows_per_batch = 400"))
    spec_uri = upload_spec(spec_file, s3_store, RUN)
    event, context = {"run_id": RUN, "spec_uri": spec_uri}, LambdaContext()
    seen: list[str] = []

    def stage(name: str) -> dict[str, Any]:
        handler = getattr(lambda_handlers, name)
        return until_done(lambda: handler(event, context), seen, name)

    stage("pre_cleanup")
    planned = stage("staging")
    assert planned["status"] == "INGEST"
    items = listed(s3_client, planned)
    assert len(items) > len(data.files)  # the larger object is read in byte ranges
    for payload in ({**event, "item": item["item"]} for item in items):
        answer = invoked("staging_ingest", functools.partial(lambda_handlers.staging_ingest, payload, context))
        assert answer["lines"] > 0
    staged = stage("staging")
    assert staged["status"] == "SUCCEEDED" and staged["source_lines"] == data.rows
    stage("features")
    assert task_main.main(["--spec", spec_uri, "train", "--run-id", RUN]) == 0
    batches = listed(s3_client, stage("batch_planning"))
    assert len(batches) > 3
    stage("results_table")
    for batch in batches:
        assert task_main.main(["--spec", spec_uri, "predict", "--run-id", RUN, "--batch", str(batch["batch"])]) == 0
    stage("aggregation")
    stage("publish")
    stage("cleanup")
    assert any(step.endswith(":RUNNING") for step in seen), "no stage waited for a query"

    state = json.loads(s3_store.get(f"runs/{RUN}/run.json"))
    assert state["status"] == "SUCCEEDED"
    assert all(record["attempts"] == 1 for record in state["stages"].values())
    # The tasks read their rows from the features table's row groups in ranged S3 reads.
    assert state["stages"]["batch_planning"]["report"]["batch_rows"] == "features row groups"

    # The same data through a local run: the same records staged and rejected, the same labels.
    local_spec = tmp_path / "local" / "spec.toml"
    local_spec.parent.mkdir()
    local = spec_file.read_text().replace(f"s3://{BUCKET}/{PREFIX}", str(tmp_path / "local" / "lake"))
    local_spec.write_text(
        local.replace("s3://raw-source/in/", str(data.files[0].parent)).replace('backend = "aws"', "")
    )
    for name in ("sql/staging.sql", "sql/features.sql"):
        target = local_spec.parent / name
        target.parent.mkdir(exist_ok=True)
        target.write_text((spec_file.parent / name).read_text())
    assert cli_main(["run", str(local_spec), "--backend", "local"]) == 0
    catalog = DuckDBCatalog(tmp_path / "local" / "lake")
    by_source = "SELECT value_source, count(*) AS n FROM age_predictions GROUP BY 1 ORDER BY 1"
    engine = containers.query_athena
    aws_rows = engine(_spec(spec_file), by_source.replace("age_predictions", '"age_predictions"')).to_pylist()
    assert aws_rows == catalog.query(by_source).to_pylist()
    rejects = "SELECT reason_code, count(*) AS n FROM age_predictions_rejects GROUP BY 1 ORDER BY 1"
    assert engine(_spec(spec_file), rejects).to_pylist() == catalog.query(rejects).to_pylist()
    # The staged columns through the results table: on AWS a Glue view joining the run's staging
    # table to its values, queried by Athena (issue 17: the results are no longer a copy).
    columns = "SELECT id, job_level, connection_count, age, value_source FROM age_predictions ORDER BY id LIMIT 40"
    assert engine(_spec(spec_file), columns).to_pylist() == catalog.query(columns).to_pylist()
    counted = "SELECT count(*) AS n, count(DISTINCT id) AS ids, count(work_experience) AS jobs FROM age_predictions"
    assert engine(_spec(spec_file), counted).to_pylist() == catalog.query(counted).to_pylist()


def _spec(spec_file: Path) -> Any:
    from entrypoints.spec_loader import load_spec

    return load_spec(spec_file)
