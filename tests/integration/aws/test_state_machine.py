"""The Step Functions definition compiled from the stage graph: structure, numbers, validity.

The retry numbers are checked against the very RetrySpec the local orchestrator uses, for a
spec whose stages all have different policies, so a mix-up between stages would show.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import entrypoints
from adapters.aws.state_machine import (
    FUNCTION_RETRYABLE_ERRORS,
    TASK_RETRYABLE_ERRORS,
    TEMPLATE_VARIABLES,
    TRANSIENT_ERROR,
    asl_max_attempts,
    compile_state_machine,
    render,
    stage_of_state,
    substitute_template,
    template_variables,
)
from domain.errors import SpecError
from domain.graph import StageGraph, StageKind, build_graph
from domain.spec import STAGE_NAMES, RetrySpec
from entrypoints.asl_command import add_asl_command
from entrypoints.spec_loader import load_spec

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE_SPEC = ROOT / "examples" / "age" / "spec.toml"
RENDERED = ROOT / "terraform" / "statemachine" / "pipeline.asl.json"
VALIDATOR = ROOT / "tools" / "asl" / "node_modules" / ".bin" / "asl-validator"

# Every stage with its own numbers: a value taken from the wrong stage cannot pass unnoticed.
DISTINCT_RETRY: dict[str, dict[str, Any]] = {
    name: {
        "max_attempts": 1 + i,
        "interval_seconds": 2 + i,
        "backoff_rate": 1.5 + i / 10,
        "max_delay_seconds": 100 + i,
        "jitter": "none" if i % 2 else "full",
        "timeout_seconds": 600 + i,
    }
    for i, name in enumerate(STAGE_NAMES)
}

DUMMY_VALUES = {
    **{
        name: f"arn:aws:lambda:eu-west-1:123456789012:function:batchml-{name.removeprefix('lambda_arn_')}"
        for name in TEMPLATE_VARIABLES
        if name.startswith("lambda_arn_")
    },
    "ecs_cluster_arn": "arn:aws:ecs:eu-west-1:123456789012:cluster/batchml",
    "train_task_definition_arn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/batchml-train:3",
    "predict_task_definition_arn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/batchml-predict:3",
    "subnet_ids": "subnet-0a1b2c3d4e5f60718,subnet-0f1e2d3c4b5a69788",
    "security_group_ids": "sg-0123456789abcdef0",
    "data_bucket": "batchml-data-123456789012",
}


@pytest.fixture(scope="module")
def graph() -> StageGraph:
    return build_graph(load_spec(EXAMPLE_SPEC, overrides={"retry": DISTINCT_RETRY, "batches": {"max_concurrency": 7}}))


@pytest.fixture(scope="module")
def states(graph: StageGraph) -> dict[str, Any]:
    result: dict[str, Any] = compile_state_machine(graph)["States"]
    return result


def expected_retrier(policy: RetrySpec) -> dict[str, Any]:
    return {
        "IntervalSeconds": policy.interval_seconds,
        "BackoffRate": policy.backoff_rate,
        "MaxDelaySeconds": policy.max_delay_seconds,
        "JitterStrategy": {"full": "FULL", "none": "NONE"}[policy.jitter],
        "MaxAttempts": policy.max_attempts - 1,
    }


def retry_numbers(state: dict[str, Any]) -> dict[str, Any]:
    (retrier,) = state["Retry"]
    return {k: v for k, v in retrier.items() if k != "ErrorEquals"}


def stage_states(graph: StageGraph, states: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every state that does a stage's work, including the map's per-batch tasks."""
    found: list[tuple[str, dict[str, Any]]] = []
    for stage in graph.stages:
        if stage.kind is StageKind.MAP:
            for map_name in (f"{stage.name}_inline", f"{stage.name}_distributed"):
                processor = states[map_name]["ItemProcessor"]
                found.append((stage.name, processor["States"][processor["StartAt"]]))
            found.append((stage.name, states[f"{stage.name}_items"]))
        else:
            found.append((stage.name, states[stage.name]))
    return found


def test_the_project_entrypoints_package_is_imported() -> None:
    assert Path(entrypoints.__file__).resolve().parent == ROOT / "entrypoints"


@pytest.mark.parametrize(("attempts", "retries"), [(1, 0), (3, 2), (20, 19)])
def test_max_attempts_counts_retries_not_attempts(attempts: int, retries: int) -> None:
    assert asl_max_attempts(RetrySpec(max_attempts=attempts)) == retries


def test_every_stage_of_the_graph_is_a_state(graph: StageGraph, states: dict[str, Any]) -> None:
    for stage in graph.stages:
        if stage.kind is StageKind.FUNCTION:
            assert states[stage.name]["Resource"] == "arn:aws:states:::lambda:invoke"
            assert states[stage.name]["Parameters"]["FunctionName"] == f"${{lambda_arn_{stage.name}}}"
        elif stage.kind is StageKind.TASK:
            assert states[stage.name]["Resource"] == "arn:aws:states:::ecs:runTask.sync"
        else:
            assert states[f"{stage.name}_route"]["Type"] == "Choice"
            assert states[f"{stage.name}_inline"]["ItemProcessor"]["ProcessorConfig"] == {"Mode": "INLINE"}
            assert states[f"{stage.name}_distributed"]["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert {stage_of_state(name) for name in states} - {None} == set(graph.names)


def test_retry_numbers_and_timeouts_are_the_local_orchestrators(graph: StageGraph, states: dict[str, Any]) -> None:
    checked = stage_states(graph, states)
    assert len(checked) == len(graph.stages) + 2  # the map stage has three task states
    for name, state in checked:
        stage = graph.stage(name)
        assert retry_numbers(state) == expected_retrier(stage.retry), name
        assert state["TimeoutSeconds"] == stage.timeout_seconds, name


def test_retryable_errors_follow_the_kind_of_compute(graph: StageGraph, states: dict[str, Any]) -> None:
    for name, state in stage_states(graph, states):
        errors = state["Retry"][0]["ErrorEquals"]
        if graph.stage(name).kind is StageKind.FUNCTION:
            assert errors == list(FUNCTION_RETRYABLE_ERRORS)
            assert "TransientError" in errors and "States.Timeout" not in errors
        elif state["Resource"].endswith("ecs:runTask.sync"):
            assert errors == list(TASK_RETRYABLE_ERRORS)
            assert {"States.TaskFailed", "States.Timeout"} <= set(errors)
        assert "States.ALL" not in errors, name  # a permanent error must not be retried


def test_retryable_errors_are_the_ones_the_lambda_handlers_raise() -> None:
    # adapters may not import entrypoints, so the two lists are held together here.
    from entrypoints import lambda_handlers

    assert set(FUNCTION_RETRYABLE_ERRORS) == set(lambda_handlers.RETRYABLE_ERRORS)
    assert TRANSIENT_ERROR == lambda_handlers.TRANSIENT_ERROR == lambda_handlers.TransientError.__name__
    assert lambda_handlers.PermanentError.__name__ not in FUNCTION_RETRYABLE_ERRORS


def test_every_stage_state_catches_into_the_failure_route(graph: StageGraph, states: dict[str, Any]) -> None:
    catching = [n for n, s in states.items() if s["Type"] in ("Task", "Map") and n != graph.failure_route]
    assert len(catching) == len(graph.stages) + 2  # the map stage is three states: items, inline, distributed
    for name in catching:
        (catch,) = states[name]["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"] and catch["ResultPath"] == "$.error"
        named = states[catch["Next"]]
        assert named["Type"] == "Pass" and named["Parameters"]["stage"] == stage_of_state(name)
        assert named["Next"] == graph.failure_route
    record = states[graph.failure_route]
    assert record["Parameters"]["FunctionName"] == "${lambda_arn_record_failure}"
    assert record["Next"] == record["Catch"][0]["Next"] == "run_failed"
    assert states["run_failed"]["Type"] == "Fail"


def test_stages_run_in_graph_order_on_either_map_path(graph: StageGraph) -> None:
    definition = compile_state_machine(graph)
    states = definition["States"]
    for branch in (0, 1):  # the Choice's distributed branch, then its default
        walked: list[str] = []
        name = definition["StartAt"]
        while states[name]["Type"] not in ("Succeed", "Fail"):
            stage = stage_of_state(name)
            if stage and (not walked or walked[-1] != stage):
                walked.append(stage)
            state = states[name]
            if "Choices" in state:
                name = state["Choices"][0]["Next"] if branch == 0 else state["Default"]
            else:
                name = state["Next"]
        assert walked == graph.names and name == "run_succeeded"


def test_the_map_stays_out_of_the_payload_limits(graph: StageGraph, states: dict[str, Any]) -> None:
    route = states["prediction_route"]
    assert route["Choices"][0]["Variable"] == "$.plan.batches"
    assert route["Choices"][0]["NumericGreaterThan"] == 40
    distributed, inline = states["prediction_distributed"], states["prediction_inline"]
    for map_state in (distributed, inline):
        assert map_state["MaxConcurrency"] == graph.max_concurrency == 7
        assert map_state["ResultPath"] is None
        assert map_state["ItemSelector"] == {
            "run_id.$": "$.run_id",
            "spec_uri.$": "$.spec_uri",
            "batch.$": "$$.Map.Item.Value.batch",
        }
    reader = distributed["ItemReader"]
    assert reader["Resource"] == "arn:aws:states:::s3:getObject"
    assert reader["ReaderConfig"] == {"InputType": "JSON"}
    assert reader["Parameters"] == {"Bucket.$": "$.plan.bucket", "Key.$": "$.plan.items_key"}
    assert distributed["ToleratedFailurePercentage"] == 0
    assert distributed["ResultWriter"]["Parameters"]["Bucket"] == "${data_bucket}"
    assert inline["ItemsPath"] == "$.batch_list.items"
    assert states["prediction_items"]["ResultSelector"] == {"items.$": "States.StringToJson($.Body)"}


def test_the_inline_threshold_is_a_parameter(graph: StageGraph) -> None:
    route = compile_state_machine(graph, inline_map_threshold=3)["States"]["prediction_route"]
    assert route["Choices"][0]["NumericGreaterThan"] == 3


def test_lambda_results_stay_out_of_the_state_except_the_plan(graph: StageGraph, states: dict[str, Any]) -> None:
    planning = states["batch_planning"]
    assert planning["ResultPath"] == "$.plan"
    assert planning["ResultSelector"] == {
        "batches.$": "$.Payload.batches",
        "items_key.$": "$.Payload.items_key",
        "bucket.$": "$.Payload.bucket",
    }
    # The first stage reads the execution's input whole (a resumed run's says "resume": true);
    # the others get the run and the spec only.
    assert states["pre_cleanup"]["Parameters"]["Payload.$"] == "$"
    for stage in graph.stages[1:]:
        if stage.kind is StageKind.FUNCTION:
            assert states[stage.name]["Parameters"]["Payload"] == {"run_id.$": "$.run_id", "spec_uri.$": "$.spec_uri"}
        if stage.kind is not StageKind.MAP and stage.name != "batch_planning":
            assert states[stage.name]["ResultPath"] is None


def test_container_tasks_run_the_task_main_on_fargate(states: dict[str, Any]) -> None:
    train = states["training"]["Parameters"]
    predict = states["prediction_inline"]["ItemProcessor"]["States"]["prediction_inline_batch"]["Parameters"]
    assert train["Cluster"] == predict["Cluster"] == "${ecs_cluster_arn}"
    assert train["TaskDefinition"] == "${train_task_definition_arn}"
    assert predict["TaskDefinition"] == "${predict_task_definition_arn}"
    for params in (train, predict):
        assert params["LaunchType"] == "FARGATE"
        network = params["NetworkConfiguration"]["AwsvpcConfiguration"]
        assert network == {
            "Subnets.$": "States.StringSplit('${subnet_ids}', ',')",
            "SecurityGroups.$": "States.StringSplit('${security_group_ids}', ',')",
            "AssignPublicIp": "DISABLED",
        }
    (train_container,) = train["Overrides"]["ContainerOverrides"]
    (predict_container,) = predict["Overrides"]["ContainerOverrides"]
    assert train_container == {
        "Name": "batchml",
        "Command.$": "States.Array('batchml-task', '--spec', $.spec_uri, 'train', '--run-id', $.run_id)",
    }
    assert predict_container["Command.$"] == (
        "States.Array('batchml-task', '--spec', $.spec_uri, 'predict', '--run-id', $.run_id, "
        "'--batch', States.Format('{}', $.batch))"
    )


def test_fractional_seconds_are_refused_rather_than_rounded() -> None:
    spec = load_spec(EXAMPLE_SPEC, overrides={"retry": {"staging": {"interval_seconds": 0.5}}})
    with pytest.raises(SpecError, match=r"\[retry.staging\] interval_seconds = 0.5"):
        compile_state_machine(build_graph(spec))


def test_the_template_uses_exactly_terraforms_variables(graph: StageGraph) -> None:
    text = render(graph)
    assert template_variables(text) == set(TEMPLATE_VARIABLES)
    json.loads(text)  # placeholders sit inside strings: the template itself is JSON
    filled = substitute_template(text, DUMMY_VALUES)
    assert "${" not in filled
    assert json.loads(filled)["States"]["training"]["Parameters"]["Cluster"] == DUMMY_VALUES["ecs_cluster_arn"]
    with pytest.raises(KeyError, match="data_bucket"):
        substitute_template(text, {k: v for k, v in DUMMY_VALUES.items() if k != "data_bucket"})


def test_the_committed_definition_is_a_fresh_rendering_of_the_example() -> None:
    fresh = render(build_graph(load_spec(EXAMPLE_SPEC)))
    assert RENDERED.read_text(encoding="utf-8") == fresh, (
        f"{RENDERED.relative_to(ROOT)} is stale: run "
        "`batchml asl examples/age/spec.toml --out terraform/statemachine/pipeline.asl.json`"
    )


def asl_parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="batchml")
    add_asl_command(top.add_subparsers(dest="command", required=True))
    return top


def test_the_asl_command_prints_or_writes_the_rendering(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = render(build_graph(load_spec(EXAMPLE_SPEC)))
    args = asl_parser().parse_args(["asl", str(EXAMPLE_SPEC)])
    assert args.func(args, None) == 0
    assert capsys.readouterr().out == expected
    out = tmp_path / "nested" / "pipeline.asl.json"
    args = asl_parser().parse_args(["asl", str(EXAMPLE_SPEC), "--out", str(out), "--inline-map-threshold", "5"])
    assert args.func(args, None) == 0
    assert json.loads(out.read_text())["States"]["prediction_route"]["Choices"][0]["NumericGreaterThan"] == 5


# -- asl-validator ------------------------------------------------------------------------------


def validate(tmp_path: Path, definition: str) -> subprocess.CompletedProcess[str]:
    if not VALIDATOR.exists():
        pytest.fail("asl-validator is not installed: run `npm ci --prefix tools/asl`")
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH: asl-validator needs Node.js")
    path = tmp_path / "definition.json"
    path.write_text(definition, encoding="utf-8")
    return subprocess.run(
        [str(VALIDATOR), "--json-path", str(path)], capture_output=True, text=True, timeout=60, check=False
    )


def test_asl_validator_accepts_the_rendered_definition(tmp_path: Path) -> None:
    result = validate(tmp_path, substitute_template(RENDERED.read_text(encoding="utf-8"), DUMMY_VALUES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_asl_validator_rejects_a_next_pointing_nowhere(tmp_path: Path) -> None:
    broken = json.loads(substitute_template(RENDERED.read_text(encoding="utf-8"), DUMMY_VALUES))
    broken["States"]["staging"]["Next"] = "no_such_state"
    result = validate(tmp_path, json.dumps(broken))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no_such_state" in result.stdout + result.stderr
