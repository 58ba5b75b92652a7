"""ECS tasks on Fargate as the TaskRunner: what the local subprocess runner stands in for."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from domain.ports.task_runner import TaskOutcome, TaskRunner, TaskSpec

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_ecs.type_defs import ContainerOverrideTypeDef, RunTaskRequestTypeDef, TaskTypeDef


def stop_reason(task: TaskTypeDef) -> str:
    """Why ECS says the task ended: its stoppedReason and the container's own reason."""
    container = (task.get("containers") or [{}])[0]
    parts = [task.get("stoppedReason", ""), container.get("reason", "")]
    return "; ".join(p for p in parts if p) or "no reason given"


class FargateTaskRunner(TaskRunner):
    """Runs `command + task.arguments()` as the container's command, in private subnets.

    The task's own error line goes to CloudWatch Logs with the rest of its output; the
    outcome carries what ECS reports (exit code, stoppedReason, the container's reason).
    """

    def __init__(
        self,
        ecs: ECSClient,
        cluster: str,
        task_definitions: Mapping[str, str],
        subnets: Sequence[str],
        security_groups: Sequence[str],
        container_name: str,
        command: Sequence[str],
        poll_seconds: float = 6.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ecs = ecs
        self.cluster = cluster
        self.task_definitions = dict(task_definitions)
        self.subnets, self.security_groups = list(subnets), list(security_groups)
        self.container_name = container_name
        self.command = list(command)
        self.poll_seconds = poll_seconds
        self.sleep, self.clock = sleep, clock

    def _request(self, task: TaskSpec) -> RunTaskRequestTypeDef:
        override: ContainerOverrideTypeDef = {
            "name": self.container_name,
            "command": [*self.command, *task.arguments()],
        }
        if task.env:
            override["environment"] = [{"name": k, "value": v} for k, v in sorted(task.env.items())]
        return {
            "cluster": self.cluster,
            "taskDefinition": self.task_definitions[task.role],
            "launchType": "FARGATE",
            "count": 1,
            "startedBy": f"batchml-{task.run_id}"[:36],  # ECS allows 36 characters
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": self.subnets,
                    "securityGroups": self.security_groups,
                    "assignPublicIp": "DISABLED",
                }
            },
            "overrides": {"containerOverrides": [override]},
        }

    def run(self, task: TaskSpec, timeout_seconds: float) -> TaskOutcome:
        started = self.clock()

        def outcome(succeeded: bool, code: int | None, reason: str) -> TaskOutcome:
            return TaskOutcome(task.task_id, succeeded, code, reason, self.clock() - started)

        try:
            response = self.ecs.run_task(**self._request(task))
        except (ClientError, BotoCoreError) as exc:
            return outcome(False, None, f"could not start: {exc}")
        failures = response.get("failures", [])
        if failures or not response.get("tasks"):
            first = failures[0] if failures else {}
            detail = ": ".join(str(first.get(k)) for k in ("reason", "detail") if first.get(k))
            return outcome(False, None, f"could not start: {detail or 'ECS started no task'}")
        arn = response["tasks"][0]["taskArn"]
        while True:
            stopped = self._describe(arn)
            if stopped is not None:
                return self._ended(stopped, outcome)
            if self.clock() - started > timeout_seconds:
                self._stop(arn, f"batchml: timed out after {timeout_seconds:g}s")
                return outcome(False, None, f"timed out after {timeout_seconds:g}s (task {arn} stopped)")
            self.sleep(self.poll_seconds)

    def _describe(self, arn: str) -> TaskTypeDef | None:
        """The task once STOPPED; None while it runs (or when ECS could not be asked this time)."""
        try:
            tasks = self.ecs.describe_tasks(cluster=self.cluster, tasks=[arn]).get("tasks", [])
        except (ClientError, BotoCoreError):
            return None  # throttled or a network blip: ask again at the next poll
        if tasks and tasks[0].get("lastStatus") == "STOPPED":
            return tasks[0]
        return None

    def _stop(self, arn: str, reason: str) -> None:
        # It may have ended on its own meanwhile; the outcome is a timeout either way.
        with contextlib.suppress(ClientError, BotoCoreError):
            self.ecs.stop_task(cluster=self.cluster, task=arn, reason=reason)

    @staticmethod
    def _ended(task: TaskTypeDef, outcome: Callable[[bool, int | None, str], TaskOutcome]) -> TaskOutcome:
        containers = task.get("containers") or [{}]
        code = containers[0].get("exitCode")
        if code == 0:
            return outcome(True, 0, "")
        what = "no exit code (the container never ran)" if code is None else f"exit code {code}"
        return outcome(False, code, f"{what}: {stop_reason(task)}")
