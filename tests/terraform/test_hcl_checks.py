"""Negative (and a few positive) tests of the checkers in hcl_checks, on small HCL snippets.

Every structural test of terraform/ relies on one of these checkers returning [] for the real
configuration; these tests show each of them does report the mistake it exists to catch.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.terraform.hcl_checks import (
    REQUIRED_FILES,
    STATE_MACHINE_TEMPLATE,
    STATE_MACHINE_TEMPLATE_VARIABLES,
    Config,
    dangling_references,
    default_tag_problems,
    interpolations,
    log_groups_without_retention,
    missing_files,
    passrole_without_condition,
    public_ip_assignments,
    render_with_dummies,
    state_machine_template_problems,
    template_variables,
    undocumented_outputs,
    undocumented_variables,
    wildcard_actions,
)


def parse(text: str) -> Config:
    return Config.from_sources({"snippet.tf": text})


# ---------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------


def test_dangling_references_are_reported() -> None:
    config = parse(
        """
        variable "known" {
          type        = string
          description = "d"
        }
        locals {
          name = "${var.known}-${var.missing}"
        }
        resource "aws_s3_bucket" "data" {
          bucket = local.nope
          tags   = { Owner = data.aws_caller_identity.ghost.account_id }
        }
        resource "aws_s3_bucket_policy" "data" {
          bucket = aws_s3_bucket.other.id
          policy = data.aws_iam_policy_document.p.json
        }
        """
    )
    assert dangling_references(config) == [
        "snippet.tf: aws_s3_bucket.other is not declared",
        "snippet.tf: data.aws_caller_identity.ghost is not declared",
        "snippet.tf: data.aws_iam_policy_document.p is not declared",
        "snippet.tf: local.nope is not declared",
        "snippet.tf: var.missing is not declared",
    ]


def test_resolved_references_escapes_and_literals_are_not_reported() -> None:
    config = parse(
        """
        variable "project" {
          type        = string
          description = "d"
        }
        locals {
          stages = ["a_b"]
          names  = { for stage in local.stages : stage => "${var.project}-${stage}" }
        }
        data "aws_region" "current" {}
        resource "aws_s3_bucket" "data" {
          for_each = local.names
          bucket   = "${each.value}-${data.aws_region.current.name}"
          # a literal that merely looks like references, and an escaped interpolation
          tags = { Note = "aws_fake.thing var.nothing", Escaped = "$${var.undeclared}" }
        }
        resource "aws_s3_bucket_versioning" "data" {
          for_each = aws_s3_bucket.data
          bucket   = each.value.id
          depends_on = [aws_s3_bucket.data]
        }
        """
    )
    assert dangling_references(config) == []


def test_interpolations_handle_nesting_and_escapes() -> None:
    template = 'a ${f("x${var.y}", {k = 1})} $${not.this} %{ if var.z }b%{ endif }'
    assert interpolations(template) == ['f("x${var.y}", {k = 1})', " if var.z ", " endif "]


# ---------------------------------------------------------------------------
# Documentation of variables and outputs
# ---------------------------------------------------------------------------


def test_variables_without_type_or_description_are_reported() -> None:
    config = parse(
        """
        variable "untyped" {
          description = "d"
        }
        variable "undescribed" {
          type = number
        }
        variable "blank" {
          type        = string
          description = "  "
        }
        variable "fine" {
          type        = bool
          description = "d"
        }
        """
    )
    assert undocumented_variables(config) == [
        "variable untyped has no type",
        "variable undescribed has no description",
        "variable blank has no description",
    ]


def test_outputs_without_description_are_reported() -> None:
    config = parse(
        """
        output "bare" {
          value = 1
        }
        output "fine" {
          description = "d"
          value       = 2
        }
        """
    )
    assert undocumented_outputs(config) == ["output bare has no description"]


# ---------------------------------------------------------------------------
# IAM
# ---------------------------------------------------------------------------


def test_wildcard_actions_in_policy_documents_are_reported() -> None:
    config = parse(
        """
        locals {
          object_actions = ["s3:GetObject", "s3:Put*"]
        }
        data "aws_iam_policy_document" "bad" {
          statement {
            sid       = "Star"
            actions   = ["s3:*"]
            resources = ["*"]
          }
          statement {
            sid       = "ThroughLocal"
            actions   = concat(local.object_actions, ["s3:ListBucket"])
            resources = ["arn:aws:s3:::b/*"]
          }
          statement {
            sid         = "Inverted"
            not_actions = ["s3:GetObject"]
            resources   = ["*"]
          }
          dynamic "statement" {
            for_each = ["x"]
            content {
              sid       = "Dynamic"
              actions   = ["*"]
              resources = ["*"]
            }
          }
          statement {
            sid       = "Unknowable"
            actions   = var.actions
            resources = ["*"]
          }
        }
        """
    )
    assert wildcard_actions(config) == [
        "data.aws_iam_policy_document.bad statement Star: wildcard action 's3:*'",
        "data.aws_iam_policy_document.bad statement ThroughLocal: wildcard action 's3:Put*'",
        "data.aws_iam_policy_document.bad statement Inverted: Allow with not_actions",
        "data.aws_iam_policy_document.bad statement Unknowable: actions are not statically known",
        "data.aws_iam_policy_document.bad statement Dynamic: wildcard action '*'",
    ]


def test_wildcard_actions_in_inline_json_policies_are_reported() -> None:
    config = parse(
        """
        resource "aws_iam_role_policy" "inline" {
          role = "r"
          policy = jsonencode({
            Version = "2012-10-17"
            Statement = [
              { Effect = "Allow", Action = ["s3:GetObject"], Resource = "arn:aws:s3:::b/*" },
              { Effect = "Allow", Action = "s3:*", Resource = "*" },
              { Effect = "Deny", Action = "*", Resource = "*" },
            ]
          })
        }
        resource "aws_iam_policy" "heredoc" {
          policy = <<-EOT
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ec2:Describe*"], "Resource": "*"}]}
          EOT
        }
        """
    )
    assert wildcard_actions(config) == [
        'aws_iam_role_policy.inline: wildcard action in "s3:*"',
        'aws_iam_policy.heredoc: wildcard action in ["ec2:Describe*"]',
    ]


def test_deny_statements_and_exact_actions_pass() -> None:
    config = parse(
        """
        locals {
          actions = ["s3:GetObject", "s3:PutObject"]
        }
        data "aws_iam_policy_document" "good" {
          statement {
            effect    = "Deny"
            actions   = ["s3:*"]
            resources = ["*"]
          }
          statement {
            actions   = local.actions
            resources = ["arn:aws:s3:::b/runs/*"]
          }
        }
        """
    )
    assert wildcard_actions(config) == []


def test_passrole_without_service_condition_or_on_every_role_is_reported() -> None:
    config = parse(
        """
        data "aws_iam_policy_document" "p" {
          statement {
            sid       = "NoCondition"
            actions   = ["iam:PassRole"]
            resources = ["arn:aws:iam::1:role/task"]
          }
          statement {
            sid       = "AnyRole"
            actions   = ["iam:PassRole"]
            resources = ["*"]
            condition {
              test     = "StringEquals"
              variable = "iam:PassedToService"
              values   = ["ecs-tasks.amazonaws.com"]
            }
          }
          statement {
            sid       = "Fine"
            actions   = ["iam:PassRole"]
            resources = ["arn:aws:iam::1:role/task"]
            condition {
              test     = "StringEquals"
              variable = "iam:PassedToService"
              values   = ["ecs-tasks.amazonaws.com"]
            }
          }
        }
        resource "aws_iam_role_policy" "inline" {
          policy = jsonencode({
            Statement = [{ Effect = "Allow", Action = "iam:PassRole", Resource = "arn:aws:iam::1:role/x" }]
          })
        }
        """
    )
    assert passrole_without_condition(config) == [
        "data.aws_iam_policy_document.p statement NoCondition: iam:PassRole without an iam:PassedToService condition",
        "data.aws_iam_policy_document.p statement AnyRole: iam:PassRole on every role",
        "aws_iam_role_policy.inline: iam:PassRole without an iam:PassedToService condition",
    ]


# ---------------------------------------------------------------------------
# Logs, network, tags, files
# ---------------------------------------------------------------------------


def test_log_group_without_retention_is_reported() -> None:
    config = parse(
        """
        resource "aws_cloudwatch_log_group" "forever" {
          name = "/aws/lambda/x"
        }
        resource "aws_cloudwatch_log_group" "kept" {
          name              = "/aws/lambda/y"
          retention_in_days = var.days
        }
        """
    )
    assert log_groups_without_retention(config) == ["aws_cloudwatch_log_group.forever has no retention_in_days"]


def test_public_ip_assignment_is_reported() -> None:
    config = parse(
        """
        resource "aws_ecs_service" "public" {
          network_configuration {
            subnets          = ["s"]
            assign_public_ip = true
          }
        }
        resource "aws_ecs_service" "unset" {
          network_configuration {
            subnets = ["s"]
          }
        }
        resource "aws_ecs_service" "private" {
          network_configuration {
            subnets          = ["s"]
            assign_public_ip = false
          }
        }
        """
    )
    assert public_ip_assignments(config) == [
        "aws_ecs_service.public: assign_public_ip is True",
        "aws_ecs_service.unset: assign_public_ip is None",
    ]


def test_missing_or_incomplete_default_tags_are_reported() -> None:
    assert default_tag_problems(parse('provider "aws" {\n  region = "eu-west-1"\n}\n')) == [
        "aws provider 0: default tag project is None, want ${var.project}",
        "aws provider 0: default tag environment is None, want ${var.environment}",
        "aws provider 0: default tag cost_centre is None, want ${var.cost_centre}",
    ]
    config = parse(
        """
        provider "aws" {
          default_tags {
            tags = {
              project     = var.project
              environment = "dev"
              cost_centre = var.cost_centre
            }
          }
        }
        """
    )
    assert default_tag_problems(config) == ["aws provider 0: default tag environment is 'dev', want ${var.environment}"]
    assert default_tag_problems(parse("")) == ["no aws provider block"]


def test_missing_files_are_reported(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text("")
    assert missing_files(tmp_path) == [name for name in REQUIRED_FILES if name != "main.tf"]


# ---------------------------------------------------------------------------
# State machine template
# ---------------------------------------------------------------------------


def _state_machine_config(passed: set[str]) -> Config:
    arguments = ", ".join(f'{name} = "x"' for name in sorted(passed))
    return parse(
        f"""
        resource "aws_sfn_state_machine" "pipeline" {{
          definition = templatefile("${{path.module}}/{STATE_MACHINE_TEMPLATE}", {{ {arguments} }})
        }}
        """
    )


@pytest.fixture
def template_path(tmp_path: Path) -> Path:
    path = tmp_path / STATE_MACHINE_TEMPLATE
    path.parent.mkdir(parents=True)
    return path


def test_missing_state_machine_template_fails(template_path: Path) -> None:
    config = _state_machine_config(set(STATE_MACHINE_TEMPLATE_VARIABLES))
    assert state_machine_template_problems(config, template_path) == [
        f"{template_path} does not exist (render it with `batchml asl`)"
    ]


def test_state_machine_template_problems_are_reported(template_path: Path) -> None:
    template_path.write_text(
        json.dumps(
            {
                "StartAt": "a",
                "States": {
                    "a": {
                        "Type": "Task",
                        "Resource": "${lambda_arn_staging}",
                        "Parameters": {
                            "NetworkConfiguration": {"AwsvpcConfiguration": {"AssignPublicIp": "ENABLED"}},
                            "Bucket": "${unknown_bucket}",
                        },
                        "End": True,
                    }
                },
            }
        )
    )
    passed = set(STATE_MACHINE_TEMPLATE_VARIABLES) - {"data_bucket"} | {"surplus"}
    assert state_machine_template_problems(_state_machine_config(passed), template_path) == [
        "aws_sfn_state_machine.pipeline.definition: template variables differ from the contract: "
        "missing ['data_bucket'], extra ['surplus']",
        "pipeline.asl.json uses ['unknown_bucket'], which aws_sfn_state_machine.pipeline.definition does not pass",
        "pipeline.asl.json: AssignPublicIp is 'ENABLED'",
    ]


def test_state_machine_template_that_is_not_json_is_reported(template_path: Path) -> None:
    template_path.write_text('{"StartAt": "a", "States": {${lambda_arn_staging}}')
    config = _state_machine_config(set(STATE_MACHINE_TEMPLATE_VARIABLES))
    problems = state_machine_template_problems(config, template_path)
    assert len(problems) == 1
    assert problems[0].startswith("pipeline.asl.json is not valid JSON once rendered")


def test_a_valid_template_passes(template_path: Path) -> None:
    template_path.write_text(
        '{"StartAt": "a", "States": {"a": {"Type": "Task", "Resource": "${lambda_arn_staging}",'
        ' "Parameters": {"Subnets.$": "States.StringSplit(\'${subnet_ids}\', \',\')",'
        ' "N": ${length(split(",", subnet_ids))}},'
        ' "End": true}}}'
    )
    config = _state_machine_config(set(STATE_MACHINE_TEMPLATE_VARIABLES))
    assert state_machine_template_problems(config, template_path) == []


def test_template_variables_skip_functions_attributes_and_loop_variables() -> None:
    template = '${jsonencode([for s in split(",", subnet_ids) : s.id])} ${upper(data_bucket)} $${escaped}'
    assert template_variables(template) == {"subnet_ids", "data_bucket"}


def test_render_with_dummies_keeps_json_valid_inside_and_outside_strings() -> None:
    rendered = render_with_dummies('{"a": "x-${one}-y", "b": ${two}, "c": "$${literal}"}')
    assert json.loads(rendered) == {"a": "x-dummy-y", "b": "dummy", "c": "${literal}"}
