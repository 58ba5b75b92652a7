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
from adapters.aws.asl_states import (
    ECS_START_RETRY,
    FUNCTION_RETRYABLE_ERRORS,
    LAMBDA_STATE_TIMEOUT,
    POLL_WAIT_SECONDS,
    asl_max_attempts,
    delay_expression,
)
from adapters.aws.limits import LAMBDA_TIMEOUT_SECONDS
from adapters.aws.state_machine import (
    TEMPLATE_VARIABLES,
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
from tests.integration.aws.limits_harness import check_definition

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


def all_states(states: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every state, those inside map item processors included."""
    found: dict[str, dict[str, Any]] = {}
    for name, state in states.items():
        found[name] = state
        if "ItemProcessor" in state:
            found.update(all_states(state["ItemProcessor"]["States"]))
    return found


def lambda_states(states: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in all_states(states).items() if s.get("Resource") == "arn:aws:states:::lambda:invoke"}


def ecs_states(states: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: s for n, s in all_states(states).items() if s.get("Resource", "").endswith("ecs:runTask.sync")}


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
    assert {stage_of_state(name) for name in all_states(states)} - {None} == set(graph.names)


def test_no_lambda_state_can_run_past_lambdas_900_seconds(states: dict[str, Any]) -> None:
    """Issue 13, finding 4: SQL stages polled Athena for up to an hour inside one Lambda (state
    TimeoutSeconds 3600). Lambda stops at 900 s (limits.LAMBDA_TIMEOUT_SECONDS)."""
    assert LAMBDA_STATE_TIMEOUT <= LAMBDA_TIMEOUT_SECONDS.value == 900
    for name, state in lambda_states(states).items():
        assert state["TimeoutSeconds"] <= LAMBDA_TIMEOUT_SECONDS.value, name


def test_the_example_definition_keeps_every_limit_the_harness_knows(graph: StageGraph) -> None:
    check_definition(compile_state_machine(graph))


def test_a_lambda_stage_loops_while_its_queries_run(graph: StageGraph, states: dict[str, Any]) -> None:
    """The stage returns RUNNING rather than waiting; the machine waits (free) and invokes it again."""
    for stage in (s for s in graph.stages if s.kind is StageKind.FUNCTION):
        task, route, wait = states[stage.name], states[stage.name + "_next"], states[stage.name + "_wait"]
        assert task["Next"] == stage.name + "_next" and task["ResultPath"] == f"$.{stage.name}"
        assert route["Choices"][0] == {
            "Variable": f"$.{stage.name}.status",
            "StringEquals": "RUNNING",
            "Next": stage.name + "_wait",
        }
        assert wait == {"Type": "Wait", "Seconds": POLL_WAIT_SECONDS, "Next": stage.name}


def test_retry_numbers_are_the_local_orchestrators(graph: StageGraph, states: dict[str, Any]) -> None:
    for stage in graph.stages:
        if stage.kind is StageKind.FUNCTION:
            assert retry_numbers(states[stage.name]) == expected_retrier(stage.retry), stage.name
        else:  # container tasks: the loop counts attempts, the spec's backoff in its delays
            for name, state in ecs_states(states).items():
                if stage_of_state(name) == stage.name:
                    assert state["TimeoutSeconds"] == stage.timeout_seconds
                    attempts = all_states(states)[name + "_attempts"]["Choices"][0]
                    assert attempts["NumericGreaterThanEquals"] == stage.retry.max_attempts
                    backoff = all_states(states)[name + "_backoff"]["Parameters"]
                    assert backoff["delay.$"] == delay_expression(stage.name, stage.retry)


def test_the_backoff_table_is_step_functions_formula_in_whole_seconds() -> None:
    policy = RetrySpec(max_attempts=5, interval_seconds=2, backoff_rate=3, max_delay_seconds=30, jitter="none")
    assert delay_expression("s", policy) == "States.ArrayGetItem(States.Array(0, 2, 6, 18, 30), $.retry.attempt)"
    jittered = policy.model_copy(update={"jitter": "full"})
    assert delay_expression("s", jittered) == (
        "States.MathRandom(0, States.ArrayGetItem(States.Array(1, 3, 7, 19, 31), $.retry.attempt))"
    )


def test_retryable_errors_follow_the_kind_of_compute(states: dict[str, Any]) -> None:
    for name, state in lambda_states(states).items():
        if name == "record_failure":
            continue
        (retry,) = state["Retry"]
        assert retry["ErrorEquals"] == list(FUNCTION_RETRYABLE_ERRORS), name
    for name, state in ecs_states(states).items():
        # Only RunTask refusing or throttling: a task that ran and failed goes through the loop,
        # which can read its exit code (issue 13, finding 7: States.TaskFailed was retried
        # natively, the permanent exit code included).
        assert state["Retry"] == [ECS_START_RETRY], name
        assert state["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": name + "_check"}]


def test_the_permanent_exit_code_gives_up_at_once(states: dict[str, Any]) -> None:
    every = all_states(states)
    for name in ecs_states(states):
        rule = every[name + "_permanent"]["Choices"][0]
        assert rule["And"][1] == {"Variable": "$.error.exit.task.Containers[0].ExitCode", "NumericEquals": 3}
        assert rule["Next"] in (name + "_give_up", "training_failed")


def test_every_stage_catches_into_the_failure_route(graph: StageGraph, states: dict[str, Any]) -> None:
    top = {n: s for n, s in states.items() if s["Type"] in ("Task", "Map") and n != graph.failure_route}
    for name, state in top.items():
        (catch,) = state["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"] and catch["ResultPath"] == "$.error"
        target = catch["Next"] if catch["Next"].endswith("_failed") else None
        if target is None:  # a container task's loop, which ends in the failure route
            assert states[catch["Next"].removesuffix("_check") + "_attempts"]
            continue
        named = states[target]
        assert named["Type"] == "Pass" and named["Parameters"]["stage"] == stage_of_state(name)
        assert named["Next"] == graph.failure_route
    record = states[graph.failure_route]
    assert record["Parameters"]["FunctionName"] == "${lambda_arn_record_failure}"
    assert record["Next"] == record["Catch"][0]["Next"] == "run_failed"
    assert states["run_failed"]["Type"] == "Fail"


def test_stages_run_in_graph_order_on_every_path(graph: StageGraph) -> None:
    definition = compile_state_machine(graph)
    states = definition["States"]
    for branch in range(3):  # each Choice's first rule, its second, or its default
        walked: list[str] = []
        name, visited = definition["StartAt"], set()
        while states[name]["Type"] not in ("Succeed", "Fail"):
            stage = stage_of_state(name)
            if stage and (not walked or walked[-1] != stage):
                walked.append(stage)
            state = states[name]
            if "Choices" in state:
                rules = [c for c in state["Choices"] if not c["Next"].endswith("_wait")]  # no waiting
                # A Choice seen before takes its default: a fan-out comes back to its stage once.
                first = name not in visited and branch < len(rules)
                visited.add(name)
                name = rules[branch]["Next"] if first else state["Default"]
            else:
                name = state["Next"]
        assert walked == graph.names and name == "run_succeeded", branch


def test_the_maps_stay_out_of_the_payload_limits(graph: StageGraph, states: dict[str, Any]) -> None:
    for prefix, plan, item, concurrency in (
        ("prediction", "batch_planning", "batch", graph.max_concurrency),
        ("staging_ingest", "staging", "item", graph.ingest_concurrency),
    ):
        route = states[f"{prefix}_route"]
        assert route["Choices"][0] == {
            "Variable": f"$.{plan}.count",
            "NumericEquals": 0,
            "Next": route["Choices"][0]["Next"],
        }
        assert route["Choices"][1]["NumericGreaterThan"] == 40  # the inline Map's concurrency limit
        distributed, inline = states[f"{prefix}_distributed"], states[f"{prefix}_inline"]
        for map_state in (distributed, inline):
            assert map_state["MaxConcurrency"] == concurrency
            assert map_state["ResultPath"] is None
            assert map_state["ItemSelector"] == {
                "run_id.$": "$.run_id",
                "spec_uri.$": "$.spec_uri",
                f"{item}.$": f"$$.Map.Item.Value.{item}",
                "retry": {"attempt": 1},
            }
        reader = distributed["ItemReader"]
        assert reader["Resource"] == "arn:aws:states:::s3:getObject"
        assert reader["ReaderConfig"] == {"InputType": "JSON"}
        assert reader["Parameters"] == {"Bucket.$": f"$.{plan}.bucket", "Key.$": f"$.{plan}.items_key"}
        assert distributed["ToleratedFailurePercentage"] == 0
        assert distributed["ResultWriter"]["Parameters"]["Bucket"] == "${data_bucket}"
        assert inline["ItemsPath"] == f"$.{prefix}_list.items"
    assert graph.max_concurrency == 7


def test_staging_fans_out_its_ingest_and_returns_to_finish(states: dict[str, Any]) -> None:
    """Issue 13, finding 2: the whole source streamed through one Lambda."""
    assert states["staging_next"]["Choices"][1] == {
        "Variable": "$.staging.status",
        "StringEquals": "INGEST",
        "Next": "staging_ingest_route",
    }
    item = states["staging_ingest_inline"]["ItemProcessor"]["States"]["staging_ingest_inline_item"]
    assert item["Parameters"]["FunctionName"] == "${lambda_arn_staging_ingest}"
    assert states["staging_ingest_inline"]["Next"] == states["staging_ingest_distributed"]["Next"] == "staging"


def test_lambda_results_are_the_four_step_fields(graph: StageGraph, states: dict[str, Any]) -> None:
    # The first stage reads the execution's input whole (a resumed run's says "resume": true);
    # the others get the run and the spec only.
    assert states["pre_cleanup"]["Parameters"]["Payload.$"] == "$"
    for stage in graph.stages:
        if stage.kind is not StageKind.FUNCTION:
            continue
        assert states[stage.name]["ResultSelector"] == {
            "status.$": "$.Payload.status",
            "count.$": "$.Payload.count",
            "items_key.$": "$.Payload.items_key",
            "bucket.$": "$.Payload.bucket",
        }
        if stage.name != "pre_cleanup":
            assert states[stage.name]["Parameters"]["Payload"] == {"run_id.$": "$.run_id", "spec_uri.$": "$.spec_uri"}


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
    args = asl_parser().parse_args(["asl", str(EXAMPLE_SPEC), "--out", str(out)])
    assert args.func(args, None) == 0
    assert out.read_text() == expected


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
    broken["States"]["staging_wait"]["Next"] = "no_such_state"
    result = validate(tmp_path, json.dumps(broken))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no_such_state" in result.stdout + result.stderr


def test_the_seeds_fan_out_at_200_validates_and_keeps_every_limit(tmp_path: Path) -> None:
    """Issue 13, done when: a spec with max_concurrency = 200 and ~900 batches gives a definition
    where no Lambda state can run past 900 s, the fan-out runs at 200, and ingest is a fan-out."""
    spec = load_spec(EXAMPLE_SPEC, overrides={"batches": {"max_concurrency": 200, "rows_per_batch": 262_000}})
    definition = compile_state_machine(build_graph(spec))
    states = definition["States"]
    assert states["prediction_distributed"]["MaxConcurrency"] == 200
    assert states["staging_ingest_distributed"]["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert all(s["TimeoutSeconds"] <= 900 for s in lambda_states(states).values())
    assert "prediction_distributed_batch" in check_definition(definition)  # the limits harness, every state
    result = validate(tmp_path, substitute_template(json.dumps(definition), DUMMY_VALUES))
    assert result.returncode == 0, result.stdout + result.stderr
