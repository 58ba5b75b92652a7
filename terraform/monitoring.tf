# Log groups are created here, with retention, before anything writes to them: a service that
# creates its own group keeps logs forever, and that storage is billed forever.
#
# checkov's one-year retention rule (CKV_AWS_338) is skipped on each group: these are debugging
# logs of a batch pipeline, re-creatable by re-running, and retention is a cost lever here
# (variables with validation); audit trails belong in CloudTrail, not in these groups.

resource "aws_cloudwatch_log_group" "lambda" {
  # checkov:skip=CKV_AWS_338: debugging logs, short retention by design (see the top of this file)
  for_each = local.lambda_functions

  name              = "/aws/lambda/${each.value.name}"
  retention_in_days = var.lambda_log_retention_days
  kms_key_id        = local.kms_key_arn
}

resource "aws_cloudwatch_log_group" "task" {
  # checkov:skip=CKV_AWS_338: debugging logs, short retention by design (see the top of this file)
  for_each = local.tasks

  name              = "/aws/ecs/${local.name_prefix}/${each.key}"
  retention_in_days = var.fargate_log_retention_days
  kms_key_id        = local.kms_key_arn
}

# The /aws/vendedlogs/ prefix keeps Step Functions from adding a resource policy per log group
# (the account's CloudWatch Logs resource policy is limited to 5120 characters).
resource "aws_cloudwatch_log_group" "sfn" {
  # checkov:skip=CKV_AWS_338: debugging logs, short retention by design (see the top of this file)
  name              = "/aws/vendedlogs/states/${local.state_machine_name}"
  retention_in_days = var.sfn_log_retention_days
  kms_key_id        = local.kms_key_arn
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  # checkov:skip=CKV_AWS_338: debugging logs, short retention by design (see the top of this file)
  count = local.flow_logs_enabled ? 1 : 0

  name              = "/aws/vpc/${local.name_prefix}/flow-logs"
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = local.kms_key_arn
}

# ---------------------------------------------------------------------------
# Alarms
# ---------------------------------------------------------------------------

# Encrypted with the project key: CloudWatch alarms cannot publish to a topic under the AWS
# managed aws/sns key. With encryption = "SSE-S3" there is no customer key, so the topic is left
# unencrypted rather than silently undeliverable; it only ever carries alarm names and states.
resource "aws_sns_topic" "alarms" {
  name              = "${local.name_prefix}-alarms"
  kms_master_key_id = local.kms_key_arn
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count = var.alarm_email == null ? 0 : 1

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# Any failed or timed-out run pages someone; a Sum over 5 minutes > 0 catches a single one.
resource "aws_cloudwatch_metric_alarm" "pipeline" {
  for_each = toset(["ExecutionsFailed", "ExecutionsTimedOut"])

  alarm_name          = "${local.state_machine_name}-${each.key}"
  alarm_description   = "A ${local.name_prefix} pipeline execution ended in ${each.key}: see the Step Functions console and the record_failure stage's log."
  namespace           = "AWS/States"
  metric_name         = each.key
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  # No executions means nothing failed, not an unknown state.
  treat_missing_data = "notBreaching"

  dimensions = {
    StateMachineArn = aws_sfn_state_machine.pipeline.arn
  }

  alarm_actions = [aws_sns_topic.alarms.arn]
}

# ---------------------------------------------------------------------------
# Budget
# ---------------------------------------------------------------------------

# Filters on the `project` cost allocation tag that default_tags puts on everything; AWS only
# honours it once the tag is activated in the Billing console (see README.md).
resource "aws_budgets_budget" "monthly" {
  name         = "${local.name_prefix}-monthly"
  budget_type  = "COST"
  limit_amount = format("%.2f", var.monthly_budget_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

  cost_filter {
    name = "TagKeyValue"
    # Budgets spells a tag filter "user:<key>$<value>".
    values = [format("user:project$%s", var.project)]
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 80
    threshold_type             = "PERCENTAGE"
    notification_type          = "FORECASTED"
    subscriber_email_addresses = [var.budget_email]
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 100
    threshold_type             = "PERCENTAGE"
    notification_type          = "ACTUAL"
    subscriber_email_addresses = [var.budget_email]
  }
}
