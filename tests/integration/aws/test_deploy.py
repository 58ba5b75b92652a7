"""The deployed state machine must be the spec's compilation (issue 13, finding 5): a run of a
spec whose compilation differs is refused before anything starts, naming the differences, and
`batchml deploy` makes it so (moto: DescribeStateMachine and UpdateStateMachine)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from adapters.aws.deployed_definition import differences, expected_definition, template_values
from adapters.aws.state_machine import render_spec, substitute_template
from entrypoints.cli import main
from entrypoints.spec_loader import load_spec
from tests.integration.aws.test_state_machine import DUMMY_VALUES

pytestmark = pytest.mark.integration

EXAMPLE_SPEC = Path(__file__).resolve().parents[3] / "examples" / "age" / "spec.toml"


@pytest.fixture
def deployed(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The example's compilation deployed as Terraform deploys it: placeholders filled in."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "BATCHML_AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("BATCHML_AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="lake")
        definition = substitute_template(render_spec(load_spec(EXAMPLE_SPEC)), DUMMY_VALUES)
        arn = boto3.client("stepfunctions").create_state_machine(
            name="batchml-pipeline", definition=definition, roleArn="arn:aws:iam::123456789012:role/sfn"
        )["stateMachineArn"]
        monkeypatch.setenv("BATCHML_STATE_MACHINE_ARN", arn)
        yield arn


def seed_like_spec(folder: Path, concurrency: int = 200) -> Path:
    """The example at the seed's fan-out, on an S3 lake."""
    text = EXAMPLE_SPEC.read_text().replace("max_concurrency = 2", f"max_concurrency = {concurrency}")
    text = text.replace('root = "../../demo-output/lake"', 'root = "s3://lake/prefix"')
    assert 'root = "s3://lake/prefix"' in text
    for name in ("staging.sql", "features.sql"):
        (folder / name).write_text((EXAMPLE_SPEC.parent / name).read_text())
    spec = folder / "spec.toml"
    spec.write_text(text)
    return spec


def test_values_are_read_back_from_where_the_template_has_them() -> None:
    template = render_spec(load_spec(EXAMPLE_SPEC))
    deployed = json.loads(substitute_template(template, DUMMY_VALUES))
    assert template_values(json.loads(template), deployed) == DUMMY_VALUES
    assert differences(expected_definition(template, deployed), deployed) == []


def test_a_run_of_another_specs_compilation_is_refused_naming_the_differences(
    deployed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "max_concurrency = 2" in EXAMPLE_SPEC.read_text()
    spec = seed_like_spec(tmp_path)
    assert main(["run", str(spec), "--backend", "aws"]) == 2
    error = " ".join(capsys.readouterr().err.split())
    assert f"the deployed state machine is not {spec}'s compilation" in error
    assert "prediction_distributed.MaxConcurrency: deployed 2, the spec's 200" in error
    assert f"batchml deploy {spec}" in error
    assert boto3.client("stepfunctions").list_executions(stateMachineArn=deployed)["executions"] == []


def test_deploy_makes_the_deployed_machine_the_specs_compilation(
    deployed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = seed_like_spec(tmp_path)
    assert main(["deploy", str(spec)]) == 0
    assert "MaxConcurrency: deployed 2, the spec's 200" in capsys.readouterr().out
    definition = json.loads(
        boto3.client("stepfunctions").describe_state_machine(stateMachineArn=deployed)["definition"]
    )
    assert definition["States"]["prediction_distributed"]["MaxConcurrency"] == 200
    assert definition["States"]["training"]["Parameters"]["Cluster"] == DUMMY_VALUES["ecs_cluster_arn"]  # kept
    assert main(["deploy", str(spec)]) == 0
    assert "nothing to deploy" in capsys.readouterr().out
