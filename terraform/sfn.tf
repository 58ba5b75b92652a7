# The definition is not written here: `batchml asl` compiles it from the domain's stage graph
# (the same graph the local orchestrator runs) into statemachine/pipeline.asl.json, and this
# file only fills in the ARNs of what Terraform created.

resource "aws_sfn_state_machine" "pipeline" {
  # checkov:skip=CKV_AWS_284: X-Ray tracing is optional (billed per trace) and toggled by var.enable_xray_tracing
  # checkov:skip=CKV_AWS_285: execution data (state input/output) may carry rows from the lake, so logging it is opt-in through var.sfn_include_execution_data; failures are logged either way
  name     = local.state_machine_name
  role_arn = aws_iam_role.sfn.arn
  # STANDARD: runs last hours and fan out through a Distributed Map; EXPRESS caps at 5 minutes.
  type = "STANDARD"

  definition = templatefile("${path.module}/statemachine/pipeline.asl.json", {
    lambda_arn_pre_cleanup      = aws_lambda_function.stage["pre_cleanup"].arn
    lambda_arn_staging          = aws_lambda_function.stage["staging"].arn
    lambda_arn_staging_ingest   = aws_lambda_function.stage["staging_ingest"].arn
    lambda_arn_features         = aws_lambda_function.stage["features"].arn
    lambda_arn_batch_planning   = aws_lambda_function.stage["batch_planning"].arn
    lambda_arn_results_table    = aws_lambda_function.stage["results_table"].arn
    lambda_arn_aggregation      = aws_lambda_function.stage["aggregation"].arn
    lambda_arn_publish          = aws_lambda_function.stage["publish"].arn
    lambda_arn_cleanup          = aws_lambda_function.stage["cleanup"].arn
    lambda_arn_record_failure   = aws_lambda_function.stage["record_failure"].arn
    ecs_cluster_arn             = aws_ecs_cluster.main.arn
    train_task_definition_arn   = aws_ecs_task_definition.task["train"].arn
    predict_task_definition_arn = aws_ecs_task_definition.task["predict"].arn
    subnet_ids                  = join(",", local.subnet_ids)
    security_group_ids          = aws_security_group.tasks.id
    data_bucket                 = aws_s3_bucket.data.bucket
  })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.sfn.arn}:*"
    include_execution_data = var.sfn_include_execution_data
    level                  = var.sfn_log_level
  }

  tracing_configuration {
    enabled = var.enable_xray_tracing
  }

  # Log delivery is checked when the machine is created; the role must already allow it.
  depends_on = [aws_iam_role_policy.sfn]
}

# A stopped (ABORTED) or timed-out execution runs no Catch, so no record_failure: its run would
# stay RUNNING and hold the lake's run lock until the lock went stale. Step Functions reports
# every status change to the default event bus; this rule hands those two to the
# execution_stopped Lambda, which ends the run FAILED and frees the lock (unless a resumed
# execution of the run is already running).
resource "aws_cloudwatch_event_rule" "execution_stopped" {
  name        = "${local.name_prefix}-execution-stopped"
  description = "A ${local.name_prefix} pipeline execution was stopped or timed out: end its run"
  event_pattern = jsonencode({
    source        = ["aws.states"]
    "detail-type" = ["Step Functions Execution Status Change"]
    detail = {
      status          = ["ABORTED", "TIMED_OUT"]
      stateMachineArn = [local.state_machine_arn]
    }
  })
}

resource "aws_cloudwatch_event_target" "execution_stopped" {
  rule = aws_cloudwatch_event_rule.execution_stopped.name
  arn  = aws_lambda_function.stage["execution_stopped"].arn

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 10
  }
}

resource "aws_lambda_permission" "execution_stopped" {
  statement_id  = "InvokedByExecutionStoppedRule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.stage["execution_stopped"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.execution_stopped.arn
}
