"""Compile the domain's stage graph into Amazon States Language (the Step Functions definition).

The output is a Terraform `templatefile`: ARNs and network ids are `${variable}` placeholders
that Terraform fills in, so one rendered file serves every deployment. Nothing here is
hand-written per stage: retry numbers, timeouts, order and the map's concurrency all come
from the graph, the same graph the local orchestrator walks.

Shape of the machine (the patterns are in adapters/aws/asl_states.py):

    pre_cleanup -> staging (plan the ingest) -> staging_ingest_route -> a Map of ingest Lambdas
        -> staging (the SQL; a continuation loop while its queries run) -> features -> ...
    training_start -> training (ECS task, retry loop on its exit code)
    batch_planning -> results_table -> prediction_route (Choice on the batch count)
        0: skip; > 40: prediction_distributed (Distributed Map); else prediction_items -> prediction_inline
    -> aggregation -> publish -> cleanup -> run_succeeded (Succeed)
    any stage's final error -> <stage>_failed (Pass: names the stage) -> record_failure -> run_failed (Fail)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from adapters.aws.asl_states import (
    FAILED,
    FUNCTION_RETRYABLE_ERRORS,
    GIVE_UP,
    LAMBDA_STATE_TIMEOUT,
    ROUTE,
    START,
    fan_out,
    lambda_stage,
    retrier,
    task_with_retries,
)
from domain.graph import Stage, StageGraph, StageKind, build_graph
from domain.spec import STAGE_NAMES, PipelineSpec, RetrySpec

# Exactly the variables Terraform's templatefile() passes.
TEMPLATE_VARIABLES = (
    "lambda_arn_pre_cleanup",
    "lambda_arn_staging",
    "lambda_arn_staging_ingest",
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

CONTAINER_NAME = "batchml"
TASK_PROGRAM = "batchml-task"
RUN_FAILED = "run_failed"
RUN_SUCCEEDED = "run_succeeded"
RUN_FAILED_ERROR = "RunFailed"
# record_failure itself: a short Lambda, retried like any other, never left without an end.
RECORD_FAILURE_POLICY = RetrySpec(max_attempts=3, interval_seconds=1, backoff_rate=2, timeout_seconds=300)
INGEST = "_ingest"  # the staging stage's fan-out over the source's ingest items
BATCH, ITEM = "_batch", "_item"  # the task of one map iteration


def stage_of_state(state_name: str) -> str | None:
    """The graph stage a state belongs to (the longest stage name it starts with), or None for
    the failure route and the end states."""
    if state_name in (RUN_FAILED, RUN_SUCCEEDED, "record_failure") or failed_stage(state_name):
        return None
    matches = [s for s in STAGE_NAMES if state_name == s or state_name.startswith(s + "_")]
    return max(matches, key=len, default=None)


def failed_stage(state_name: str) -> str | None:
    """The stage whose failure route `state_name` is (`<stage>_failed`), if it is one."""
    base = state_name.removesuffix(FAILED)
    return base if base != state_name and base in STAGE_NAMES else None


_RUN = {"run_id.$": "$.run_id", "spec_uri.$": "$.spec_uri"}


def _function_stage(stage: Stage, next_state: str, first: bool, graph: StageGraph) -> dict[str, dict[str, Any]]:
    # The first stage gets the execution's input whole: it starts the run, or resumes it when
    # the input says `"resume": true`. A fixed "resume.$" path would fail every execution
    # started without that key.
    payload = {"Payload.$": "$"} if first else {"Payload": dict(_RUN)}
    also = {"INGEST": stage.name + INGEST + ROUTE} if stage.ingest_fan_out else None
    states = lambda_stage(
        stage.name,
        function=f"lambda_arn_{stage.name}",
        payload=payload,
        policy=stage.retry,
        comment=stage.description,
        failed=stage.name + FAILED,
        done=next_state,
        also=also,
    )
    if stage.ingest_fan_out:
        states.update(_ingest_fan_out(stage, graph))
    return states


def _ingest_fan_out(stage: Stage, graph: StageGraph) -> dict[str, dict[str, Any]]:
    """One Lambda per ingest item; then back to the stage's Lambda, which finishes the stage."""
    prefix = stage.name + INGEST

    def processor(mode: str) -> dict[str, Any]:
        name = prefix + mode.lower().replace("inline", "_inline").replace("distributed", "_distributed") + ITEM
        task = {
            "Type": "Task",
            "Comment": "one ingest item: a file, or a byte range of a large one",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": "${lambda_arn_staging_ingest}",
                "Payload": {**_RUN, "item.$": "$.item"},
            },
            "ResultSelector": {"lines.$": "$.Payload.lines"},
            "TimeoutSeconds": LAMBDA_STATE_TIMEOUT,
            "Retry": [retrier(stage.name, stage.retry, FUNCTION_RETRYABLE_ERRORS)],
            "End": True,
        }
        config = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"} if mode == "DISTRIBUTED" else {"Mode": "INLINE"}
        return {"ProcessorConfig": config, "StartAt": name, "States": {name: task}}

    return fan_out(
        prefix,
        plan=stage.name,
        item="item",
        processor={mode: processor(mode) for mode in ("INLINE", "DISTRIBUTED")},
        max_concurrency=graph.ingest_concurrency,
        comment="ingest the source, one Lambda invocation per item",
        failed=stage.name + FAILED,
        done=stage.name,
        label=prefix,
        results_prefix="ingest/map_results",
        read_policy=stage.retry,
    )


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


def _training_states(stage: Stage, next_state: str) -> dict[str, dict[str, Any]]:
    task = _ecs_task("train_task_definition_arn", _command("'train'", "'--run-id'", "$.run_id"))
    states = task_with_retries(
        stage.name,
        {**task, "Comment": stage.description},
        stage=stage.name,
        policy=stage.retry,
        timeout=stage.timeout_seconds,
        done=next_state,
        give_up=stage.name + FAILED,
    )
    start = {"Type": "Pass", "Comment": "the first attempt", "Result": {"attempt": 1}, "ResultPath": "$.retry"}
    return {stage.name + START: {**start, "Next": stage.name}, **states}


def _batch_processor(stage: Stage, mode: str) -> dict[str, Any]:
    name = stage.name + ("_inline" if mode == "INLINE" else "_distributed") + BATCH
    command = _command("'predict'", "'--run-id'", "$.run_id", "'--batch'", "States.Format('{}', $.batch)")
    states = task_with_retries(
        name,
        _ecs_task("predict_task_definition_arn", command),
        stage=stage.name,
        policy=stage.retry,
        timeout=stage.timeout_seconds,
        done=name + "_done",
        give_up=name + GIVE_UP,
    )
    # The iteration's output is only its small input: thousands of them stay far from the limits.
    states[name + "_done"] = {"Type": "Succeed"}
    states[name + GIVE_UP] = {
        "Type": "Fail",
        "Comment": "the batch failed for good: the map fails, and with it the stage",
        "Error": "BatchFailed",
        "CausePath": "States.Format('batch {}: {}: {}', $.batch, $.error.Error, $.error.Cause)",
    }
    config = {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"} if mode == "DISTRIBUTED" else {"Mode": "INLINE"}
    return {"ProcessorConfig": config, "StartAt": name, "States": states}


def _map_states(stage: Stage, graph: StageGraph, next_state: str) -> dict[str, dict[str, Any]]:
    return fan_out(
        stage.name,
        plan="batch_planning",
        item="batch",
        processor={mode: _batch_processor(stage, mode) for mode in ("INLINE", "DISTRIBUTED")},
        max_concurrency=graph.max_concurrency,
        comment=stage.description,
        failed=stage.name + FAILED,
        done=next_state,
        label=stage.name,
        results_prefix="batches/map_results",
        read_policy=stage.retry,
    )


def _entry(stage: Stage) -> str:
    if stage.kind is StageKind.MAP:
        return stage.name + ROUTE
    return stage.name + START if stage.kind is StageKind.TASK else stage.name


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


def compile_state_machine(graph: StageGraph) -> dict[str, Any]:
    states: dict[str, dict[str, Any]] = {}
    for index, stage in enumerate(graph.stages):
        following = graph.stages[index + 1 :]
        next_state = _entry(following[0]) if following else RUN_SUCCEEDED
        if stage.kind is StageKind.FUNCTION:
            states.update(_function_stage(stage, next_state, index == 0, graph))
        elif stage.kind is StageKind.TASK:
            states.update(_training_states(stage, next_state))
        else:
            states.update(_map_states(stage, graph, next_state))
    states.update(_failure_route(graph))
    states[RUN_SUCCEEDED] = {"Type": "Succeed"}
    return {
        "Comment": "batchml pipeline, compiled from the stage graph by `batchml asl`; do not edit by hand",
        "StartAt": _entry(graph.stages[0]),
        "States": states,
    }


def render(graph: StageGraph) -> str:
    """Stable text: sorted keys and fixed indentation, so a regenerated file diffs cleanly."""
    return json.dumps(compile_state_machine(graph), indent=2, sort_keys=True) + "\n"


def render_spec(spec: PipelineSpec) -> str:
    """The definition of a spec's pipeline, so entrypoints need not build the graph themselves."""
    return render(build_graph(spec))


_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def template_variables(asl_text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(asl_text))


def substitute_template(asl_text: str, values: Mapping[str, str]) -> str:
    """What Terraform's templatefile() does to the rendered file, for tests and emulators."""
    missing = template_variables(asl_text) - set(values)
    if missing:
        raise KeyError(f"no value for template variable(s) {sorted(missing)}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], asl_text)
