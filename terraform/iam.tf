# One role per component, each allowed exactly what that component touches:
#   lambda          the nine Lambda stages (one shared role: they work on the same prefixes,
#                   workgroup and database, and none of them starts tasks)
#   task            the code inside the Fargate tasks (train, predict)
#   task_execution  the ECS agent pulling the image and shipping the task's logs
#   sfn             the state machine: invoke stages, run tasks, read and write batch lists
# No Allow statement has a wildcard action. Resource "*" appears only where the action has no
# resource-level permissions, each time with a comment naming the AWS rule that forces it.

locals {
  bucket_arn = aws_s3_bucket.data.arn

  # Objects the pipeline writes: run intermediates, published results, Athena query output.
  # results/ is writable (and deletable) by the Lambda role because aggregation's CTAS writes
  # there and a failed CTAS must be cleaned up; versioning keeps overwritten results recoverable.
  lambda_writable_object_arns = [
    "${local.bucket_arn}/${local.runs_prefix}*",
    "${local.bucket_arn}/${local.results_prefix}*",
    "${local.bucket_arn}/${local.athena_results_prefix}*",
  ]
  task_writable_object_arns = [
    "${local.bucket_arn}/${local.runs_prefix}*",
    "${local.bucket_arn}/${local.athena_results_prefix}*",
  ]
  source_object_arn = "${local.bucket_arn}/${var.source_prefix}*"

  athena_workgroup_arn = "arn:${local.partition}:athena:${local.region}:${local.account_id}:workgroup/${aws_athena_workgroup.main.name}"

  glue_resource_arns = [
    "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
    "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${aws_glue_catalog_database.main.name}",
    "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${aws_glue_catalog_database.main.name}/*",
  ]

  # Athena calls S3 and Glue with the caller's credentials, so whoever queries needs these.
  athena_query_actions = [
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "athena:GetWorkGroup",
    "athena:StartQueryExecution",
    "athena:StopQueryExecution",
  ]
  glue_read_actions = [
    "glue:BatchGetPartition",
    "glue:GetDatabase",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:GetTable",
    "glue:GetTables",
  ]
  # Tables and partitions come and go with every run; the database itself is Terraform's, so
  # no role can delete it (CreateDatabase only lets an idempotent "ensure database" succeed).
  glue_write_actions = [
    "glue:BatchCreatePartition",
    "glue:BatchDeletePartition",
    "glue:BatchUpdatePartition",
    "glue:CreateDatabase",
    "glue:CreatePartition",
    "glue:CreateTable",
    "glue:DeletePartition",
    "glue:DeleteTable",
    "glue:UpdateDatabase",
    "glue:UpdatePartition",
    "glue:UpdateTable",
  ]

  s3_object_rw_actions = [
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
  ]

  # With SSE-KMS every S3 read and write uses the key through S3 on the caller's behalf.
  kms_via_s3 = ["s3.${local.region}.amazonaws.com"]
}

# ---------------------------------------------------------------------------
# Trust policies
# ---------------------------------------------------------------------------

data "aws_iam_policy_document" "lambda_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# The execution role keeps the plain trust AWS documents for it: the agent assumes it before
# the task exists, and AWS does not document source conditions for that call.
data "aws_iam_policy_document" "ecs_execution_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "ecs_task_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    # Confused-deputy guard (as in AWS's task role documentation): only ECS acting for this
    # account may hand these credentials to a task.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:*"]
    }
  }
}

data "aws_iam_policy_document" "sfn_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.state_machine_name}"]
    }
  }
}

# ---------------------------------------------------------------------------
# Lambda stages
# ---------------------------------------------------------------------------

resource "aws_iam_role" "lambda" {
  name               = "${local.name_prefix}-lambda"
  description        = "Lambda stages of the ${local.name_prefix} pipeline"
  assume_role_policy = data.aws_iam_policy_document.lambda_trust.json
}

data "aws_iam_policy_document" "lambda" {
  statement {
    sid       = "LocateBucket"
    actions   = ["s3:GetBucketLocation"]
    resources = [local.bucket_arn]
  }

  statement {
    sid       = "ListPipelinePrefixes"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values = [
        "${local.runs_prefix}*",
        "${local.results_prefix}*",
        "${local.athena_results_prefix}*",
        "${var.source_prefix}*",
      ]
    }
  }

  statement {
    sid       = "ReadWritePipelineObjects"
    actions   = local.s3_object_rw_actions
    resources = local.lambda_writable_object_arns
  }

  # Staging reads the raw data; nothing in the pipeline may change it.
  statement {
    sid       = "ReadSourceObjects"
    actions   = ["s3:GetObject"]
    resources = [local.source_object_arn]
  }

  statement {
    sid       = "QueryThroughProjectWorkgroup"
    actions   = local.athena_query_actions
    resources = [local.athena_workgroup_arn]
  }

  statement {
    sid       = "ManageProjectTables"
    actions   = concat(local.glue_read_actions, local.glue_write_actions)
    resources = local.glue_resource_arns
  }

  statement {
    sid     = "WriteOwnLogs"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [
      for group in aws_cloudwatch_log_group.lambda : "${group.arn}:*"
    ]
  }

  # execution_stopped leaves a run alone while another execution of it (a resume) is running.
  statement {
    sid       = "ListPipelineExecutions"
    actions   = ["states:ListExecutions"]
    resources = [local.state_machine_arn]
  }

  dynamic "statement" {
    for_each = local.use_kms ? [local.kms_key_arn] : []
    content {
      sid       = "UseProjectKeyThroughS3AndLambda"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]

      # S3 for objects and Athena results; Lambda for the function's encrypted environment.
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = concat(local.kms_via_s3, ["lambda.${local.region}.amazonaws.com"])
      }
    }
  }

  dynamic "statement" {
    for_each = var.enable_xray_tracing ? ["xray"] : []
    content {
      # X-Ray trace submission has no resource-level permissions: AWS requires Resource "*".
      sid       = "SendTraces"
      actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "lambda" {
  name   = "pipeline-stages"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}

# ---------------------------------------------------------------------------
# Fargate task role: the training and prediction code
# ---------------------------------------------------------------------------

resource "aws_iam_role" "task" {
  name               = "${local.name_prefix}-task"
  description        = "Code in the ${local.name_prefix} training and prediction tasks"
  assume_role_policy = data.aws_iam_policy_document.ecs_task_trust.json
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "LocateBucket"
    actions   = ["s3:GetBucketLocation"]
    resources = [local.bucket_arn]
  }

  statement {
    sid       = "ListRunPrefixes"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.runs_prefix}*", "${local.athena_results_prefix}*"]
    }
  }

  # Tasks read features and write models and batch predictions under runs/ only; publishing
  # results is the Lambda stages' job.
  statement {
    sid       = "ReadWriteRunObjects"
    actions   = local.s3_object_rw_actions
    resources = local.task_writable_object_arns
  }

  # Training samples its rows through Athena.
  statement {
    sid       = "QueryThroughProjectWorkgroup"
    actions   = local.athena_query_actions
    resources = [local.athena_workgroup_arn]
  }

  statement {
    sid       = "ReadProjectTables"
    actions   = local.glue_read_actions
    resources = local.glue_resource_arns
  }

  dynamic "statement" {
    for_each = local.use_kms ? [local.kms_key_arn] : []
    content {
      sid       = "UseProjectKeyThroughS3"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = local.kms_via_s3
      }
    }
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "pipeline-tasks"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# ---------------------------------------------------------------------------
# Fargate execution role: pull the image, ship the logs
# ---------------------------------------------------------------------------

resource "aws_iam_role" "task_execution" {
  name               = "${local.name_prefix}-task-execution"
  description        = "ECS agent for the ${local.name_prefix} tasks: image pull and logs"
  assume_role_policy = data.aws_iam_policy_document.ecs_execution_trust.json
}

data "aws_iam_policy_document" "task_execution" {
  # ecr:GetAuthorizationToken has no resource-level permissions: AWS requires Resource "*".
  # The token alone grants nothing; the pull actions below are scoped to the repository.
  statement {
    sid       = "GetRegistryToken"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "PullProjectImage"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [aws_ecr_repository.main.arn]
  }

  statement {
    sid     = "WriteTaskLogs"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [
      for group in aws_cloudwatch_log_group.task : "${group.arn}:*"
    ]
  }
}

resource "aws_iam_role_policy" "task_execution" {
  name   = "image-and-logs"
  role   = aws_iam_role.task_execution.id
  policy = data.aws_iam_policy_document.task_execution.json
}

# ---------------------------------------------------------------------------
# Step Functions
# ---------------------------------------------------------------------------

resource "aws_iam_role" "sfn" {
  name               = "${local.name_prefix}-sfn"
  description        = "State machine of the ${local.name_prefix} pipeline"
  assume_role_policy = data.aws_iam_policy_document.sfn_trust.json
}

data "aws_iam_policy_document" "sfn" {
  statement {
    sid     = "InvokeStages"
    actions = ["lambda:InvokeFunction"]
    # Qualified ARNs too, in case the definition ever targets a version or alias.
    resources = flatten([
      for fn in aws_lambda_function.stage : [fn.arn, "${fn.arn}:*"]
    ])
  }

  # Any revision of the two families, but only in the project's cluster.
  statement {
    sid     = "RunPipelineTasks"
    actions = ["ecs:RunTask"]
    resources = [
      for task in local.tasks : "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/${task.family}:*"
    ]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.main.arn]
    }
  }

  # .sync polls and, on timeout or abort, stops the tasks it started.
  statement {
    sid       = "TrackPipelineTasks"
    actions   = ["ecs:DescribeTasks", "ecs:StopTask"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${aws_ecs_cluster.main.name}/*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [aws_ecs_cluster.main.arn]
    }
  }

  # Fargate cost only reaches the project's budget if tasks carry the project tags, which
  # RunTask copies from the task definition (PropagateTags) and which needs this permission.
  statement {
    sid       = "TagTasksAtLaunch"
    actions   = ["ecs:TagResource"]
    resources = ["arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${aws_ecs_cluster.main.name}/*"]

    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RunTask"]
    }
  }

  # RunTask passes both task roles to ECS; nothing else may receive them.
  statement {
    sid       = "PassTaskRolesToEcs"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.task.arn, aws_iam_role.task_execution.arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  # The .sync integration learns that a task stopped through this managed EventBridge rule.
  statement {
    sid       = "ManageEcsSyncRule"
    actions   = ["events:DescribeRule", "events:PutRule", "events:PutTargets"]
    resources = ["arn:${local.partition}:events:${local.region}:${local.account_id}:rule/StepFunctionsGetEventsForECSTaskRule"]
  }

  # The Distributed Map reads its items from runs/RUN_ID/batches/ (ItemReader) and writes the
  # per-batch outcome next to them (ResultWriter, a multipart upload for large maps).
  statement {
    sid = "ReadBatchItemsWriteMapResults"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:GetObject",
      "s3:ListMultipartUploadParts",
      "s3:PutObject",
    ]
    resources = ["${local.bucket_arn}/${local.runs_prefix}*"]
  }

  # Distributed Map runs its iterations as child executions of this same state machine.
  statement {
    sid       = "StartChildExecutions"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }

  statement {
    sid     = "ManageChildExecutions"
    actions = ["states:DescribeExecution", "states:StopExecution"]
    resources = [
      "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.state_machine_name}/*",
      "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.state_machine_name}:*",
    ]
  }

  # Vended log delivery (CloudWatch Logs for Step Functions) has no resource-level permissions:
  # AWS documents these actions with Resource "*" only.
  statement {
    sid = "DeliverExecutionLogs"
    actions = [
      "logs:CreateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:DescribeLogGroups",
      "logs:DescribeResourcePolicies",
      "logs:GetLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:UpdateLogDelivery",
    ]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = local.use_kms ? [local.kms_key_arn] : []
    content {
      sid       = "UseProjectKeyThroughS3"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [statement.value]

      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = local.kms_via_s3
      }
    }
  }

  dynamic "statement" {
    for_each = var.enable_xray_tracing ? ["xray"] : []
    content {
      # X-Ray has no resource-level permissions for these actions: AWS requires Resource "*".
      sid = "SendTraces"
      actions = [
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
      ]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "sfn" {
  name   = "pipeline-orchestration"
  role   = aws_iam_role.sfn.id
  policy = data.aws_iam_policy_document.sfn.json
}

# ---------------------------------------------------------------------------
# VPC flow logs (created VPC only)
# ---------------------------------------------------------------------------

data "aws_iam_policy_document" "flow_logs_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "flow_logs" {
  count = local.flow_logs_enabled ? 1 : 0

  name               = "${local.name_prefix}-flow-logs"
  description        = "VPC flow log delivery for ${local.name_prefix}"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_trust.json
}

data "aws_iam_policy_document" "flow_logs" {
  count = local.flow_logs_enabled ? 1 : 0

  statement {
    sid = "WriteFlowLogs"
    actions = [
      "logs:CreateLogStream",
      "logs:DescribeLogStreams",
      "logs:PutLogEvents",
    ]
    resources = [for group in aws_cloudwatch_log_group.flow_logs : "${group.arn}:*"]
  }

  # The delivery service checks the destination with DescribeLogGroups, which has no
  # resource-level permissions: AWS requires Resource "*".
  statement {
    sid       = "FindFlowLogGroup"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "flow_logs" {
  count = local.flow_logs_enabled ? 1 : 0

  name   = "flow-log-delivery"
  role   = aws_iam_role.flow_logs[0].id
  policy = data.aws_iam_policy_document.flow_logs[0].json
}
