"""Structural tests of terraform/: what `terraform validate` and a reviewer would catch, offline.

No terraform binary or provider can run here, so the configuration is parsed with python-hcl2
and checked by the functions of hcl_checks (each of which has negative tests of its own in
test_hcl_checks.py). A missing state machine template fails; nothing here is skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from domain.graph import StageKind, build_graph
from entrypoints.spec_loader import load_spec
from tests.terraform.hcl_checks import (
    STATE_MACHINE_TEMPLATE,
    Config,
    dangling_references,
    default_tag_problems,
    log_groups_without_retention,
    missing_files,
    passrole_without_condition,
    public_ip_assignments,
    state_machine_template_problems,
    undocumented_outputs,
    undocumented_variables,
    wildcard_actions,
)

TERRAFORM_DIR = Path(__file__).resolve().parents[2] / "terraform"

# One Lambda per function stage of the graph, plus the failure route and the handler of stopped
# executions: taken from the code, so the deployment cannot fall behind the stage graph.
_GRAPH = build_graph(load_spec(Path(__file__).resolve().parents[2] / "examples" / "age" / "spec.toml"))
# A stage that fans out its ingest has a function for the items beside its own.
LAMBDA_STAGES = [
    name
    for s in _GRAPH.stages
    if s.kind is StageKind.FUNCTION
    for name in ([s.name, f"{s.name}_ingest"] if s.ingest_fan_out else [s.name])
] + [
    _GRAPH.failure_route,
    "execution_stopped",
]


@pytest.fixture(scope="module")
def config() -> Config:
    return Config.load(TERRAFORM_DIR)


def test_required_files_exist() -> None:
    assert missing_files(TERRAFORM_DIR) == []


def test_every_reference_resolves_to_a_declaration(config: Config) -> None:
    assert dangling_references(config) == []


def test_every_variable_has_a_type_and_a_description(config: Config) -> None:
    assert config.variables(), "no variables parsed"
    assert undocumented_variables(config) == []


def test_every_output_has_a_description(config: Config) -> None:
    assert config.outputs(), "no outputs parsed"
    assert undocumented_outputs(config) == []


def test_no_allow_statement_has_a_wildcard_action(config: Config) -> None:
    documents = [name for (type_name, name) in config.data_sources() if type_name == "aws_iam_policy_document"]
    assert len(documents) >= 5, f"expected the role policies as policy documents, found {documents}"
    assert wildcard_actions(config) == []


def test_every_log_group_has_retention(config: Config) -> None:
    groups = [name for (type_name, name) in config.resources() if type_name == "aws_cloudwatch_log_group"]
    assert {"lambda", "task", "sfn"} <= set(groups)
    assert log_groups_without_retention(config) == []


def test_fargate_tasks_get_no_public_ip(config: Config) -> None:
    # Tasks are started by the state machine, whose ECS steps are checked with the template below;
    # any ECS service or other network_configuration added here must pin it too.
    assert public_ip_assignments(config) == []


def test_provider_tags_everything_with_project_environment_and_cost_centre(config: Config) -> None:
    assert default_tag_problems(config) == []


def test_passrole_is_limited_to_the_task_roles_and_ecs_tasks(config: Config) -> None:
    sfn_statements = config.data_sources()[("aws_iam_policy_document", "sfn")]["statement"]
    passrole = [s for s in sfn_statements if "iam:PassRole" in s["actions"]]
    assert len(passrole) == 1
    assert passrole[0]["resources"] == ["${aws_iam_role.task.arn}", "${aws_iam_role.task_execution.arn}"]
    assert passrole_without_condition(config) == []


def test_state_machine_template_exists_renders_to_json_and_gets_every_variable(config: Config) -> None:
    assert state_machine_template_problems(config, TERRAFORM_DIR / STATE_MACHINE_TEMPLATE) == []


def test_lambda_stages_are_exactly_the_pipeline_stages_from_one_image(config: Config) -> None:
    assert config.locals()["lambda_stages"] == LAMBDA_STAGES
    function = config.resources()[("aws_lambda_function", "stage")]
    assert function["package_type"] == "Image"
    assert function["image_uri"] == "${local.image_uri}"
    image_config = function["image_config"][0]
    assert image_config["entry_point"] == ["python", "-m", "awslambdaric"]
    assert image_config["command"] == ["entrypoints.lambda_handlers.${each.key}"]


def test_tasks_and_stages_address_the_container_as_batchml(config: Config) -> None:
    assert config.locals()["container_name"] == "batchml"
    definitions = config.resources()[("aws_ecs_task_definition", "task")]["container_definitions"]
    assert "name = local.container_name" in definitions
    assert config.locals()["common_environment"]["BATCHML_CONTAINER_NAME"] == "${local.container_name}"


def test_versions_are_pinned(config: Config) -> None:
    terraform = next(block for _, block in config.blocks("terraform"))
    assert terraform["required_version"] == ">= 1.6"
    aws = terraform["required_providers"][0]["aws"]
    assert aws["source"] == "hashicorp/aws"
    assert re.fullmatch(r"~> 5\.\d+", aws["version"])


def test_stopped_executions_reach_the_execution_stopped_lambda_and_only_from_their_rule(config: Config) -> None:
    resources = config.resources()
    rule = resources[("aws_cloudwatch_event_rule", "execution_stopped")]
    pattern = rule["event_pattern"]
    for text in ('"aws.states"', '"Step Functions Execution Status Change"', '"ABORTED"', '"TIMED_OUT"'):
        assert text in pattern
    assert "local.state_machine_arn" in pattern  # this deployment's executions only
    target = resources[("aws_cloudwatch_event_target", "execution_stopped")]
    assert target["arn"] == '${aws_lambda_function.stage["execution_stopped"].arn}'
    permission = resources[("aws_lambda_permission", "execution_stopped")]
    assert permission["principal"] == "events.amazonaws.com"
    assert permission["source_arn"] == "${aws_cloudwatch_event_rule.execution_stopped.arn}"
    assert permission["function_name"] == '${aws_lambda_function.stage["execution_stopped"].function_name}'


def test_the_workgroup_accepts_the_ctas_statements_the_engine_sends(config: Config) -> None:
    """Issue 13, finding 1: Athena fails a CTAS that names its external_location in a workgroup
    that enforces its configuration (https://docs.aws.amazon.com/athena/latest/ug/workgroups-troubleshooting.html);
    the workgroup enforced it, so every CTAS would have failed on AWS. Each query now names the
    result location and encryption itself, from the environment Terraform sets."""
    from adapters.aws.athena_ctas import ctas

    assert "external_location" in ctas('"db"."t"', "s3://bucket/runs/r/t/", "SELECT 1")
    workgroup = config.resources()[("aws_athena_workgroup", "main")]
    assert workgroup["configuration"][0]["enforce_workgroup_configuration"] is False
    environment = config.locals()["common_environment"]
    assert {"BATCHML_ATHENA_OUTPUT", "BATCHML_ATHENA_ENCRYPTION", "BATCHML_ATHENA_KMS_KEY"} <= set(environment)


def test_interface_endpoints_are_only_those_the_tasks_call(config: Config) -> None:
    """Issue 13, finding 9: sts and ecs endpoints were on by default (~$29 a month at two zones)
    though no task calls either (task credentials come from the Fargate credential endpoint)."""
    default = config.variables()["interface_endpoints"]["default"]
    assert set(default) == {"ecr.api", "ecr.dkr", "logs", "athena", "glue"}


def test_the_remote_state_example_locks(config: Config) -> None:
    """Issue 13, finding 9: no state backend or locking guidance. The example backend keeps the
    state in S3 with S3's own lock file (Terraform >= 1.10), encrypted, and the README says how."""
    example = Config.from_sources({"backend.tf": (TERRAFORM_DIR / "backend.tf.example").read_text()})
    backend = example.files["backend.tf"]["terraform"][0]["backend"][0]["s3"]
    assert backend["use_lockfile"] is True and backend["encrypt"] is True
    assert "backend.tf.example" in (TERRAFORM_DIR / "README.md").read_text()


def test_task_and_function_sizes_are_ones_aws_accepts(config: Config) -> None:
    """Fargate takes only certain CPU and memory pairs; Lambda 128 to 10,240 MB (limits harness)."""
    from tests.integration.aws.limits_harness import check_lambda_memory, check_task_size

    variables = config.variables()
    for role in ("train", "predict"):
        check_task_size(role, int(variables[f"{role}_cpu"]["default"]), int(variables[f"{role}_memory"]["default"]))
    for name in ("lambda_memory_mb", "ingest_lambda_memory_mb"):
        check_lambda_memory(name, int(variables[name]["default"]))
    assert int(variables["lambda_timeout_seconds"]["default"]) <= 900
