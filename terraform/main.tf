provider "aws" {
  region = var.aws_region

  # Tags on every resource, so the budget and Cost Explorer can attribute spend by project.
  default_tags {
    tags = {
      project     = var.project
      environment = var.environment
      cost_centre = var.cost_centre
    }
  }
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  name_prefix = "${var.project}-${var.environment}"

  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition

  bucket_name = coalesce(var.bucket_name, "${local.name_prefix}-data-${local.account_id}")

  # The data layout of ARCHITECTURE.md; IAM is scoped to these prefixes.
  runs_prefix           = "runs/"
  results_prefix        = "results/"
  athena_results_prefix = "athena-results/"

  use_kms     = var.encryption == "SSE-KMS"
  kms_key_arn = local.use_kms ? aws_kms_key.main[0].arn : null

  # Glue and Athena reject hyphens in database names.
  glue_database_name = replace(local.name_prefix, "-", "_")

  # The state machine's ECS steps and the task runner address the container by this name.
  container_name = "batchml"

  image_uri = "${aws_ecr_repository.main.repository_url}:${var.image_tag}"

  lambda_stages = [
    "pre_cleanup",
    "staging",
    # One invocation per ingest item of the staging stage's Map (an object, or a range of one).
    "staging_ingest",
    "features",
    "batch_planning",
    "results_table",
    "aggregation",
    "publish",
    "cleanup",
    "record_failure",
    # Not a state: EventBridge invokes it when an execution is stopped or times out (sfn.tf).
    "execution_stopped",
  ]

  lambda_functions = {
    for stage in local.lambda_stages : stage => {
      name = "${local.name_prefix}-${replace(stage, "_", "-")}"
      memory_mb = coalesce(
        try(var.lambda_overrides[stage].memory_mb, null),
        # An ingest item parses and writes as fast as one full vCPU does, which Lambda gives from 1,769 MB.
        stage == "staging_ingest" ? var.ingest_lambda_memory_mb : var.lambda_memory_mb,
      )
      timeout_seconds = coalesce(try(var.lambda_overrides[stage].timeout_seconds, null), var.lambda_timeout_seconds)
    }
  }

  # Lambda spells the architectures differently from ECS.
  lambda_architecture = var.cpu_architecture == "ARM64" ? "arm64" : "x86_64"

  tasks = {
    train = {
      family = "${local.name_prefix}-train"
      cpu    = var.train_cpu
      memory = var.train_memory
    }
    predict = {
      family = "${local.name_prefix}-predict"
      cpu    = var.predict_cpu
      memory = var.predict_memory
    }
  }

  # Built from names rather than resource attributes: the roles' policies need these ARNs
  # before the state machine and functions exist, and referencing them would form a cycle.
  state_machine_name = "${local.name_prefix}-pipeline"
  state_machine_arn  = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.state_machine_name}"

  vpc_id     = var.create_vpc ? aws_vpc.main[0].id : var.vpc_id
  subnet_ids = var.create_vpc ? aws_subnet.private[*].id : var.subnet_ids

  # Settings every Lambda stage and task reads (entrypoints/settings.py).
  common_environment = {
    BATCHML_BACKEND          = "aws"
    BATCHML_AWS_REGION       = local.region
    BATCHML_ATHENA_WORKGROUP = aws_athena_workgroup.main.name
    # The workgroup does not enforce these (a CTAS naming its location would fail): each query says them.
    BATCHML_ATHENA_OUTPUT     = "s3://${aws_s3_bucket.data.bucket}/${local.athena_results_prefix}"
    BATCHML_ATHENA_ENCRYPTION = local.use_kms ? "SSE_KMS" : "SSE_S3"
    BATCHML_ATHENA_KMS_KEY    = local.use_kms ? local.kms_key_arn : ""
    BATCHML_GLUE_DATABASE     = aws_glue_catalog_database.main.name
    BATCHML_CONTAINER_NAME    = local.container_name
  }

  # The Lambda stages (and a workstation starting runs) also need where tasks run.
  stage_environment = merge(local.common_environment, {
    BATCHML_ECS_CLUSTER             = aws_ecs_cluster.main.name
    BATCHML_TRAIN_TASK_DEFINITION   = aws_ecs_task_definition.task["train"].arn
    BATCHML_PREDICT_TASK_DEFINITION = aws_ecs_task_definition.task["predict"].arn
    BATCHML_SUBNETS                 = join(",", local.subnet_ids)
    BATCHML_SECURITY_GROUPS         = aws_security_group.tasks.id
  })

  # A workstation running `batchml run --backend aws` starts the state machine as well.
  workstation_environment = merge(local.stage_environment, {
    BATCHML_STATE_MACHINE_ARN = aws_sfn_state_machine.pipeline.arn
  })
}
