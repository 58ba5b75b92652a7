"""FargateTaskRunner against moto's ECS: a task's life to STOPPED, exit codes, timeouts, failures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.stub import Stubber
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ecs.models import ecs_backends
from moto.moto_api import state_manager

from adapters.aws.fargate_runner import FargateTaskRunner
from domain.ports.task_runner import TaskSpec
from tests.integration.aws.fixtures import REGION

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

pytestmark = pytest.mark.integration

CLUSTER = "batchml"
COMMAND = ["batchml-task", "--spec", "s3://lake/runs/r1/spec/spec.toml"]


@pytest.fixture
def network(aws: None) -> tuple[list[str], list[str]]:
    ec2 = boto3.client("ec2", region_name=REGION)
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    groups = [g["GroupId"] for g in ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"]]
    return subnets, groups


@pytest.fixture
def task_definitions(ecs_client: ECSClient) -> dict[str, str]:
    ecs_client.create_cluster(clusterName=CLUSTER)
    arns = {}
    for role in ("train", "predict"):
        arns[role] = ecs_client.register_task_definition(
            family=f"batchml-{role}",
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="1024",
            memory="2048",
            # moto needs the container's own memory (AWS would take the task's).
            containerDefinitions=[{"name": "batchml", "image": "batchml:latest", "memory": 2048, "essential": True}],
        )["taskDefinition"]["taskDefinitionArn"]
    return arns


@pytest.fixture
def stepwise() -> Iterator[None]:
    """Each DescribeTasks moves a task one step: RUNNING -> ... -> STOPPED, so the runner polls."""
    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 1})
    yield
    state_manager.unset_transition("ecs::task")


def moto_tasks() -> list[Any]:
    return list(ecs_backends[DEFAULT_ACCOUNT_ID][REGION].tasks.get(CLUSTER, {}).values())


def make_runner(
    ecs: ECSClient, task_definitions: dict[str, str], network: tuple[list[str], list[str]], **kwargs: Any
) -> FargateTaskRunner:
    subnets, groups = network
    return FargateTaskRunner(ecs, CLUSTER, task_definitions, subnets, groups, "batchml", COMMAND, **kwargs)


@pytest.mark.usefixtures("stepwise")
def test_a_task_runs_to_stopped_with_exit_code_0(
    ecs_client: ECSClient, task_definitions: dict[str, str], network: tuple[list[str], list[str]]
) -> None:
    slept: list[float] = []
    runner = make_runner(ecs_client, task_definitions, network, poll_seconds=6.0, sleep=slept.append)
    outcome = runner.run(TaskSpec(role="predict", run_id="r1", batch=3, env={"BATCHML_X": "1"}), timeout_seconds=600)
    assert outcome.succeeded and outcome.exit_code == 0 and outcome.task_id == "predict-00003"
    assert slept == [6.0, 6.0, 6.0]  # RUNNING, DEACTIVATING, STOPPING, DEPROVISIONING -> STOPPED
    (task,) = moto_tasks()
    assert task.task_definition_arn == task_definitions["predict"] and task.launch_type == "FARGATE"
    override = task.overrides["containerOverrides"][0]
    assert override["name"] == "batchml"
    assert override["command"] == [*COMMAND, "predict", "--run-id", "r1", "--batch", "3"]
    assert override["environment"] == [{"name": "BATCHML_X", "value": "1"}]
    vpc = task.network_configuration["awsvpcConfiguration"]
    assert vpc["assignPublicIp"] == "DISABLED" and vpc["subnets"] == network[0]


@pytest.mark.usefixtures("stepwise")
@pytest.mark.parametrize(("code", "expected"), [(1, "exit code 1"), (3, "exit code 3"), (None, "no exit code")])
def test_a_failed_container_is_a_failed_outcome_with_ecs_reason(
    ecs_client: ECSClient,
    task_definitions: dict[str, str],
    network: tuple[list[str], list[str]],
    code: int | None,
    expected: str,
) -> None:
    def container_exits(_seconds: float) -> None:
        # Moto always exits 0: set what the container "did" on moto's own task, mid-run.
        for task in moto_tasks():
            task.containers[0].exitCode = code
            task.stopped_reason = "Essential container in task exited"

    runner = make_runner(ecs_client, task_definitions, network, sleep=container_exits)
    outcome = runner.run(TaskSpec(role="train", run_id="r1"), timeout_seconds=600)
    assert not outcome.succeeded and outcome.exit_code == code
    assert outcome.reason.startswith(expected) and outcome.reason.endswith(": Essential container in task exited")
    assert outcome.permanent == (code == 3)


@pytest.mark.usefixtures("stepwise")
def test_a_task_past_its_timeout_is_stopped(
    ecs_client: ECSClient, task_definitions: dict[str, str], network: tuple[list[str], list[str]]
) -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 1000})  # it never ends by itself
    runner = make_runner(ecs_client, task_definitions, network, poll_seconds=6.0, sleep=sleep, clock=lambda: now[0])
    outcome = runner.run(TaskSpec(role="train", run_id="r1"), timeout_seconds=10)
    assert not outcome.succeeded and outcome.exit_code is None
    assert outcome.reason.startswith("timed out after 10s")
    (task,) = moto_tasks()
    assert task.desired_status == "STOPPED" and task.stopped_reason == "batchml: timed out after 10s"


def test_a_task_ecs_cannot_start_is_a_failed_outcome(
    ecs_client: ECSClient, task_definitions: dict[str, str], network: tuple[list[str], list[str]]
) -> None:
    runner = make_runner(ecs_client, {"train": "no-such-family:1"}, network)
    outcome = runner.run(TaskSpec(role="train", run_id="r1"), timeout_seconds=60)
    assert not outcome.succeeded and outcome.reason.startswith("could not start:")


def test_run_task_failures_are_a_failed_outcome(
    ecs_client: ECSClient, task_definitions: dict[str, str], network: tuple[list[str], list[str]]
) -> None:
    """Moto's RunTask never reports `failures`; botocore's own Stubber plays ECS's answer here."""
    failure = {"arn": "arn:aws:ecs:::task-definition/x", "reason": "RESOURCE:ENI", "detail": "no ENI"}
    runner = make_runner(ecs_client, task_definitions, network)
    with Stubber(ecs_client) as stub:
        stub.add_response("run_task", {"tasks": [], "failures": [failure]})
        outcome = runner.run(TaskSpec(role="train", run_id="r1"), 60)
    assert not outcome.succeeded and outcome.exit_code is None
    assert outcome.reason == "could not start: RESOURCE:ENI: no ENI"
