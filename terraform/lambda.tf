# One function per Lambda stage, all from the project image: the handler module differs, the
# package does not.
#
# Not in the VPC, by design: the stages only call AWS APIs (S3, Athena, Glue) that are reached
# over their public endpoints with IAM-signed TLS requests, and there is no private resource
# (database, cache) to reach. A VPC would add ENI cold starts and would need the same interface
# endpoints the tasks use, for no gain in isolation; the data never leaves AWS either way.

resource "aws_lambda_function" "stage" {
  # checkov:skip=CKV_AWS_117: deliberately outside the VPC, see the comment at the top of this file
  # checkov:skip=CKV_AWS_116: the state machine invokes every stage synchronously and owns retries and failure routing; a dead-letter queue only receives asynchronous invocations. The one asynchronous caller, EventBridge for execution_stopped, retries itself (sfn.tf), and a lost event only leaves the run's lock to go stale as before
  # checkov:skip=CKV_AWS_115: reserved concurrency is carved out of the account's pool (new accounts have 10 and AWS refuses any reservation there), and each stage runs once per pipeline run, so there is nothing to cap
  # checkov:skip=CKV_AWS_272: code signing applies to .zip packages only; container images are pinned by immutable ECR tag and scanned on push
  for_each = local.lambda_functions

  function_name = each.value.name
  description   = "${local.name_prefix} pipeline stage ${each.key}"
  role          = aws_iam_role.lambda.arn
  package_type  = "Image"
  image_uri     = local.image_uri
  architectures = [local.lambda_architecture]
  memory_size   = each.value.memory_mb
  timeout       = each.value.timeout_seconds
  kms_key_arn   = local.kms_key_arn

  image_config {
    entry_point = ["python", "-m", "awslambdaric"]
    command     = ["entrypoints.lambda_handlers.${each.key}"]
  }

  environment {
    variables = local.stage_environment
  }

  tracing_config {
    mode = var.enable_xray_tracing ? "Active" : "PassThrough"
  }

  # Terraform's log group (with retention) must exist before the first invoke, or Lambda
  # creates one that keeps logs forever.
  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.lambda[each.key].name
  }

  # A stage invoked before its role policy is attached fails with AccessDenied.
  depends_on = [aws_iam_role_policy.lambda]
}
