output "data_bucket" {
  description = "Name of the data bucket (source under source_prefix, runs/, results/, athena-results/)."
  value       = aws_s3_bucket.data.bucket
}

output "source_uri" {
  description = "Where to upload the raw JSON-lines source data."
  value       = "s3://${aws_s3_bucket.data.bucket}/${var.source_prefix}"
}

output "ecr_repository_url" {
  description = "ECR repository to push the project image to (docker tag/push <url>:<image_tag>)."
  value       = aws_ecr_repository.main.repository_url
}

output "image_uri" {
  description = "Image the task definitions and Lambda functions run."
  value       = local.image_uri
}

output "state_machine_arn" {
  description = "ARN of the pipeline state machine (BATCHML_STATE_MACHINE_ARN)."
  value       = aws_sfn_state_machine.pipeline.arn
}

output "athena_workgroup" {
  description = "Athena workgroup every query runs in (BATCHML_ATHENA_WORKGROUP)."
  value       = aws_athena_workgroup.main.name
}

output "glue_database" {
  description = "Glue database holding the pipeline's tables (BATCHML_GLUE_DATABASE)."
  value       = aws_glue_catalog_database.main.name
}

output "ecs_cluster_name" {
  description = "ECS cluster the Fargate tasks run in (BATCHML_ECS_CLUSTER)."
  value       = aws_ecs_cluster.main.name
}

output "ecs_cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.main.arn
}

output "train_task_definition_arn" {
  description = "Training task definition, with revision (BATCHML_TRAIN_TASK_DEFINITION)."
  value       = aws_ecs_task_definition.task["train"].arn
}

output "predict_task_definition_arn" {
  description = "Prediction task definition, with revision (BATCHML_PREDICT_TASK_DEFINITION)."
  value       = aws_ecs_task_definition.task["predict"].arn
}

output "subnet_ids" {
  description = "Private subnets the tasks run in (BATCHML_SUBNETS, comma-joined)."
  value       = local.subnet_ids
}

output "task_security_group_id" {
  description = "Security group of the tasks (BATCHML_SECURITY_GROUPS)."
  value       = aws_security_group.tasks.id
}

output "lambda_function_names" {
  description = "Lambda function name of each pipeline stage."
  value       = { for stage, fn in aws_lambda_function.stage : stage => fn.function_name }
}

output "alarm_topic_arn" {
  description = "SNS topic the failure alarms publish to; subscribe more endpoints here."
  value       = aws_sns_topic.alarms.arn
}

output "kms_key_arn" {
  description = "Customer managed key of the deployment (null with encryption = SSE-S3)."
  value       = local.kms_key_arn
}

output "batchml_environment" {
  description = "Environment for `batchml run SPEC --backend aws` from a workstation: the settings the Lambda stages get, plus the state machine to start."
  value       = local.workstation_environment
}

output "batchml_env_exports" {
  description = "The same as shell exports: eval \"$(terraform output -raw batchml_env_exports)\"."
  value       = join("\n", [for name, value in local.workstation_environment : "export ${name}='${value}'"])
}
