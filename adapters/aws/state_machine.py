"""Compile the domain's stage graph into Amazon States Language (the Step Functions definition).

The output is a Terraform `templatefile`: ARNs and network ids are `${variable}` placeholders
that Terraform fills in, so one rendered file serves every deployment. Nothing here is
hand-written per stage: retry numbers, timeouts, order and the map's concurrency all come
from the graph, the same graph the local orchestrator walks.

Shape of the machine:

    stage -> stage -> ... -> prediction_route (Choice on the batch count)
        > threshold: prediction_distributed (Distributed Map, items read from S3 by Step Functions)
        else:        prediction_items (S3 GetObject) -> prediction_inline (inline Map)
    -> aggregation -> ... -> run_succeeded (Succeed)
    any stage's final error -> <stage>_failed (Pass: names the stage) -> record_failure -> run_failed (Fail)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from domain.errors import SpecError
from domain.graph import Stage, StageGraph, StageKind, build_graph
from domain.spec import STAGE_NAMES, PipelineSpec, RetrySpec

# Exactly the variables Terraform's templatefile() passes.
TEMPLATE_VARIABLES = (
    "lambda_arn_pre_cleanup",
    "lambda_arn_staging",
    "lambda_arn_features",
    "lambda_arn_batch_planning",
    "lambda_arn_results_table",
    "lambda_arn_aggregation",
    "lambda_arn_publish",
    "lambda_arn_cleanup",
    "lambda_arn_record_failure",
    "ecs_cluster_arn",
    "train_task_definition_arn",
    "predict_task_definition_arn",
    "subnet_ids",
    "security_group_ids",
    "data_bucket",
)

# Errors a retry can fix. The Lambda handlers raise TRANSIENT_ERROR (by exception class name,
# which Step Functions reports as the error name) for failures the domain calls transient.
TRANSIENT_ERROR = "TransientError"
LAMBDA_SERVICE_ERRORS = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)
# No States.Timeout for Lambda stages: a timed-out Lambda keeps running, so a retry would run
# beside it; the local orchestrator treats a function-stage timeout as final for the same reason.
FUNCTION_RETRYABLE_ERRORS = (*LAMBDA_SERVICE_ERRORS, TRANSIENT_ERROR)
# ecs:runTask.sync reports a non-zero exit as States.TaskFailed and stops the task on a timeout.
# In a retrier States.TaskFailed is a wildcard for every task error but States.Timeout, so a task
# that failed, could not start or timed out is retried, as locally. One difference remains: a
# task that exits with the permanent exit code (3) is retried here too, where the local
# orchestrator stops at once; the exit code is not visible to a retrier.
TASK_RETRYABLE_ERRORS = ("States.TaskFailed", "States.Timeout")
S3_RETRYABLE_ERRORS = ("S3.SdkClientException", "S3.S3Exception")

CONTAINER_NAME = "batchml"
TASK_PROGRAM = "batchml-task"
RUN_FAILED = "run_failed"
RUN_SUCCEEDED = "run_succeeded"
RUN_FAILED_ERROR = "RunFailed"
# record_failure itself: a short Lambda, retried like any other, never left without an end.
RECORD_FAILURE_POLICY = RetrySpec(max_attempts=3, interval_seconds=1, backoff_rate=2, timeout_seconds=300)

# Helper states carry their stage's name plus one of these suffixes (see stage_of_state).
ROUTE, ITEMS, INLINE, DISTRIBUTED, BATCH, FAILED = "_route", "_items", "_inline", "_distributed", "_batch", "_failed"


def asl_max_attempts(policy: RetrySpec) -> int:
    """The spec counts attempts in total; ASL's MaxAttempts counts retries after the first."""
    return policy.max_attempts - 1


def _whole_seconds(stage: str, field: str, value: float) -> int:
    # Step Functions accepts only positive whole seconds; rounding would make AWS retry on a
    # different schedule from the local orchestrator, so refuse instead.
    if value < 1 or value != int(value):
        raise SpecError(f"[retry.{stage}] {field} = {value}: Step Functions needs a whole number of seconds >= 1")
    return int(value)


def retrier(stage: str, policy: RetrySpec, errors: tuple[str, ...]) -> dict[str, Any]:
    return {
        "ErrorEquals": list(errors),
        "IntervalSeconds": _whole_seconds(stage, "interval_seconds", policy.interval_seconds),
        "BackoffRate": policy.backoff_rate,
        "MaxDelaySeconds": _whole_seconds(stage, "max_delay_seconds", policy.max_delay_seconds),
        "JitterStrategy": policy.jitter.upper(),
        "MaxAttempts": asl_max_attempts(policy),
    }


def stage_of_state(state_name: str) -> str | None:
    """The graph stage a state belongs to, or None for the route, failure and end states."""
    if state_name in STAGE_NAMES:
        return state_name
    for suffix in (ITEMS, INLINE, DISTRIBUTED, INLINE + BATCH, DISTRIBUTED + BATCH):
        base = state_name.removesuffix(suffix)
        if base != state_name and base in STAGE_NAMES:
            return base
    return None


_RUN = {"run_id.$": "$.run_id", "spec_uri.$": "$.spec_uri"}


def _guarded(stage: Stage, state: dict[str, Any], errors: tuple[str, ...], next_state: str) -> dict[str, Any]:
    """Timeout, retries and the catch-all route to the failure path, shared by every stage state."""
    return {
        **state,
        "TimeoutSeconds": stage.timeout_seconds,
        "Retry": [retrier(stage.name, stage.retry, errors)],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": stage.name + FAILED}],
        "Next": next_state,
    }


def _lambda_state(stage: Stage, next_state: str, first: bool) -> dict[str, Any]:
    # The first stage gets the execution's input whole: it starts the run, or resumes it when
    # the input says `"resume": true`. A fixed "resume.$" path would fail every execution
    # started without that key.
    payload = {"Payload.$": "$"} if first else {"Payload": dict(_RUN)}
    state: dict[str, Any] = {
        "Type": "Task",
        "Comment": stage.description,
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": f"${{lambda_arn_{stage.name}}}", **payload},
        "ResultPath": None,
    }
    if stage.name == "batch_planning":
        # The one result the machine needs: how many batches, and where their list is.
        state["ResultSelector"] = {k + ".$": f"$.Payload.{k}" for k in ("batches", "items_key", "bucket")}
        state["ResultPath"] = "$.plan"
    return _guarded(stage, state, FUNCTION_RETRYABLE_ERRORS, next_state)


def _ecs_task(task_definition: str, command: str) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::ecs:runTask.sync",
        "Parameters": {
            "Cluster": "${ecs_cluster_arn}",
            "TaskDefinition": f"${{{task_definition}}}",
            "LaunchType": "FARGATE",
            # Tasks carry the task definition's cost-allocation tags, so the budget sees them.
            "PropagateTags": "TASK_DEFINITION",
            "NetworkConfiguration": {
                "AwsvpcConfiguration": {
                    # Comma-separated template strings keep the template valid JSON for any count.
                    "Subnets.$": "States.StringSplit('${subnet_ids}', ',')",
                    "SecurityGroups.$": "States.StringSplit('${security_group_ids}', ',')",
                    "AssignPublicIp": "DISABLED",
                }
            },
            "Overrides": {"ContainerOverrides": [{"Name": CONTAINER_NAME, "Command.$": command}]},
        },
        # The task description ECS returns is large and of no use downstream.
        "ResultPath": None,
    }


def _command(*args: str) -> str:
    return f"States.Array('{TASK_PROGRAM}', '--spec', $.spec_uri, {', '.join(args)})"


def _training_state(stage: Stage, next_state: str) -> dict[str, Any]:
    task = _ecs_task("train_task_definition_arn", _command("'train'", "'--run-id'", "$.run_id"))
    return _guarded(stage, {**task, "Comment": stage.description}, TASK_RETRYABLE_ERRORS, next_state)


def _item_processor(stage: Stage, mode: str) -> dict[str, Any]:
    name = stage.name + mode + BATCH
    command = _command("'predict'", "'--run-id'", "$.run_id", "'--batch'", "States.Format('{}', $.batch)")
    task = {
        **_ecs_task("predict_task_definition_arn", command),
        "TimeoutSeconds": stage.timeout_seconds,
        "Retry": [retrier(stage.name, stage.retry, TASK_RETRYABLE_ERRORS)],
        # Each item's output is only its small input: 100,000 of them stay far from the limits.
        "End": True,
    }
    config: dict[str, Any] = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"} if mode == DISTRIBUTED else {}
    return {"ProcessorConfig": config or {"Mode": "INLINE"}, "StartAt": name, "States": {name: task}}


def _map_states(stage: Stage, graph: StageGraph, threshold: int, next_state: str) -> dict[str, dict[str, Any]]:
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": stage.name + FAILED}]
    common: dict[str, Any] = {
        "Type": "Map",
        "Comment": stage.description,
        "MaxConcurrency": graph.max_concurrency,
        "ItemSelector": {**_RUN, "batch.$": "$$.Map.Item.Value.batch"},
        "ResultPath": None,
        "Catch": catch,
        "Next": next_state,
    }
    plan_object = {"Bucket.$": "$.plan.bucket", "Key.$": "$.plan.items_key"}
    distributed = {
        **common,
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": plan_object,
        },
        "ItemProcessor": _item_processor(stage, DISTRIBUTED),
        "Label": stage.name,
        # A float on purpose: AWS takes any number 0-100, LocalStack's parser only a decimal literal.
        "ToleratedFailurePercentage": 0.0,
        # Item results go to S3, not into the state: with 100,000 batches the collected array
        # alone would break the 256 KiB state limit. The path reads the execution's input
        # through the context object, which means the same on AWS and in LocalStack (which
        # resolves `$` here against the map's results, not its input).
        "ResultWriter": {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {
                "Bucket": "${data_bucket}",
                "Prefix.$": "States.Format('runs/{}/batches/map_results', $$.Execution.Input.run_id)",
            },
        },
    }
    # Few batches: read the (small) list into the state and fan out inline, which avoids a
    # Map Run and its child executions for the common small job.
    items = {
        "Type": "Task",
        "Comment": "read the batch list for the inline map",
        "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
        "Parameters": plan_object,
        "ResultSelector": {"items.$": "States.StringToJson($.Body)"},
        "ResultPath": "$.batch_list",
    }
    inline = {**common, "ItemsPath": "$.batch_list.items", "ItemProcessor": _item_processor(stage, INLINE)}
    route = {
        "Type": "Choice",
        "Comment": f"Distributed Map above {threshold} batches, inline Map otherwise",
        "Choices": [{"Variable": "$.plan.batches", "NumericGreaterThan": threshold, "Next": stage.name + DISTRIBUTED}],
        "Default": stage.name + ITEMS,
    }
    return {
        stage.name + ROUTE: route,
        stage.name + DISTRIBUTED: distributed,
        stage.name + ITEMS: _guarded(stage, items, S3_RETRYABLE_ERRORS, stage.name + INLINE),
        stage.name + INLINE: inline,
    }


def _entry(stage: Stage) -> str:
    return stage.name + ROUTE if stage.kind is StageKind.MAP else stage.name


def _failure_route(graph: StageGraph) -> dict[str, dict[str, Any]]:
    states: dict[str, dict[str, Any]] = {
        stage.name + FAILED: {
            "Type": "Pass",
            "Comment": f"the failure route, from {stage.name}",
            "Parameters": {**_RUN, "stage": stage.name, "error.$": "$.error"},
            "Next": graph.failure_route,
        }
        for stage in graph.stages
    }
    states[graph.failure_route] = {
        "Type": "Task",
        "Comment": "record the failed stage and its error in the run's state",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {
            "FunctionName": "${lambda_arn_record_failure}",
            "Payload": {**_RUN, "stage.$": "$.stage", "error.$": "$.error"},
        },
        "ResultPath": None,
        "TimeoutSeconds": RECORD_FAILURE_POLICY.timeout_seconds,
        "Retry": [retrier(graph.failure_route, RECORD_FAILURE_POLICY, FUNCTION_RETRYABLE_ERRORS)],
        # Even when recording fails the run must end failed, not hang or look successful.
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.record_failure_error", "Next": RUN_FAILED}],
        "Next": RUN_FAILED,
    }
    # A fixed error name: a Fail state may not raise `States.*` names, which caught errors often are.
    states[RUN_FAILED] = {
        "Type": "Fail",
        "Error": RUN_FAILED_ERROR,
        "CausePath": "States.Format('{} failed: {}: {}', $.stage, $.error.Error, $.error.Cause)",
    }
    return states


def compile_state_machine(graph: StageGraph, *, inline_map_threshold: int = 40) -> dict[str, Any]:
    states: dict[str, dict[str, Any]] = {}
    for index, stage in enumerate(graph.stages):
        following = graph.stages[index + 1 :]
        next_state = _entry(following[0]) if following else RUN_SUCCEEDED
        if stage.kind is StageKind.FUNCTION:
            states[stage.name] = _lambda_state(stage, next_state, first=index == 0)
        elif stage.kind is StageKind.TASK:
            states[stage.name] = _training_state(stage, next_state)
        else:
            states.update(_map_states(stage, graph, inline_map_threshold, next_state))
    states.update(_failure_route(graph))
    states[RUN_SUCCEEDED] = {"Type": "Succeed"}
    return {
        "Comment": "batchml pipeline, compiled from the stage graph by `batchml asl`; do not edit by hand",
        "StartAt": _entry(graph.stages[0]),
        "States": states,
    }


def render(graph: StageGraph, *, inline_map_threshold: int = 40) -> str:
    """Stable text: sorted keys and fixed indentation, so a regenerated file diffs cleanly."""
    definition = compile_state_machine(graph, inline_map_threshold=inline_map_threshold)
    return json.dumps(definition, indent=2, sort_keys=True) + "\n"


def render_spec(spec: PipelineSpec, *, inline_map_threshold: int = 40) -> str:
    """The definition of a spec's pipeline, so entrypoints need not build the graph themselves."""
    return render(build_graph(spec), inline_map_threshold=inline_map_threshold)


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def template_variables(asl_text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(asl_text))


def substitute_template(asl_text: str, values: Mapping[str, str]) -> str:
    """What Terraform's templatefile() does to the rendered file, for tests and emulators."""
    missing = template_variables(asl_text) - set(values)
    if missing:
        raise KeyError(f"no value for template variable(s) {sorted(missing)}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], asl_text)
