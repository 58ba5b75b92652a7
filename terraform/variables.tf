# ---------------------------------------------------------------------------
# Identity and tagging
# ---------------------------------------------------------------------------

variable "project" {
  type        = string
  description = "Project name: the first part of every resource name and the `project` cost allocation tag the budget filters on."
  default     = "batchml"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,19}$", var.project))
    error_message = "project must be 2-20 characters of lowercase letters, digits and hyphens, starting with a letter (it ends up in S3, ECR and IAM names)."
  }
}

variable "environment" {
  type        = string
  description = "Deployment environment (dev, staging, prod, ...): the second part of every resource name, so several environments can share one account."
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.environment))
    error_message = "environment must be 2-10 lowercase letters or digits, starting with a letter."
  }
}

variable "cost_centre" {
  type        = string
  description = "Value of the `cost_centre` tag put on every resource through the provider's default_tags."
  default     = "batchml"
}

variable "aws_region" {
  type        = string
  description = "AWS region to deploy into."
  default     = "us-east-1"
}

# ---------------------------------------------------------------------------
# Storage: S3 data bucket, encryption, retention
# ---------------------------------------------------------------------------

variable "bucket_name" {
  type        = string
  description = "Name of the data bucket. Null derives `<project>-<environment>-data-<account id>`, which is globally unique without coordination."
  default     = null
}

variable "encryption" {
  type        = string
  description = "Encryption at rest: SSE-KMS creates a customer managed key with rotation (about $1/month plus requests, reduced by S3 bucket keys) used by S3, Athena results, CloudWatch Logs, ECR, Lambda environment and the alarm topic; SSE-S3 uses AWS managed encryption everywhere and no key (the alarm topic is then unencrypted, see monitoring.tf)."
  default     = "SSE-KMS"

  validation {
    condition     = contains(["SSE-KMS", "SSE-S3"], var.encryption)
    error_message = "encryption must be SSE-KMS or SSE-S3."
  }
}

variable "kms_deletion_window_days" {
  type        = number
  description = "Waiting period before a destroyed KMS key is really deleted; data encrypted with it is unreadable afterwards."
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "bucket_force_destroy" {
  type        = bool
  description = "Let `terraform destroy` delete the data bucket with everything in it, published results and all versions included. Keep false outside throwaway environments."
  default     = false
}

variable "source_prefix" {
  type        = string
  description = "Key prefix in the data bucket where the raw JSON-lines source data lives (read-only for the pipeline). Must end with a slash."
  default     = "source/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.source_prefix)) && !contains(["runs/", "results/", "athena-results/"], var.source_prefix)
    error_message = "source_prefix must be a relative key prefix ending with '/', distinct from runs/, results/ and athena-results/."
  }
}

variable "runs_expiration_days" {
  type        = number
  description = "Days after which objects under runs/ (intermediate tables, models, batch outputs of a run) expire. Resuming a run needs them, so keep this longer than a run can sit failed before someone resumes it."
  default     = 14

  validation {
    condition     = var.runs_expiration_days >= 1
    error_message = "runs_expiration_days must be at least 1."
  }
}

variable "athena_results_expiration_days" {
  type        = number
  description = "Days after which Athena query result files under athena-results/ expire. The pipeline reads a result right after its query, so a few days is plenty."
  default     = 3

  validation {
    condition     = var.athena_results_expiration_days >= 1
    error_message = "athena_results_expiration_days must be at least 1."
  }
}

variable "abort_incomplete_multipart_days" {
  type        = number
  description = "Days after which incomplete multipart uploads (left by crashed tasks or CTAS queries) are aborted; their parts are billed as storage until then."
  default     = 3

  validation {
    condition     = var.abort_incomplete_multipart_days >= 1 && var.abort_incomplete_multipart_days <= 7
    error_message = "abort_incomplete_multipart_days must be between 1 and 7."
  }
}

variable "noncurrent_version_expiration_days" {
  type        = number
  description = "Days a replaced or deleted object version is kept: the window to recover an overwritten published result."
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

# ---------------------------------------------------------------------------
# Athena and Glue
# ---------------------------------------------------------------------------

variable "athena_bytes_scanned_cutoff" {
  type        = number
  description = "Per-query data scan limit of the Athena workgroup in bytes; Athena cancels a query that would scan more, so one runaway query costs at most this much ($5 per TB scanned). It must exceed the pipeline's largest query, which reads the raw lines once (about 0.65 x the JSON source's size): `batchml plan SPEC --backend aws` prints the figure and `batchml run --backend aws` refuses to start below it. Default 10 GiB (about 5 cents), enough for ~15 GB of JSON; the seed's 130 GB needs about 100 GB (100000000000)."
  default     = 10737418240

  validation {
    condition     = var.athena_bytes_scanned_cutoff >= 10000000
    error_message = "Athena's minimum per-query cutoff is 10 MB (10000000 bytes)."
  }
}

# ---------------------------------------------------------------------------
# Container image and compute
# ---------------------------------------------------------------------------

variable "image_tag" {
  type        = string
  description = "Tag of the project image in the ECR repository, used by both Fargate task definitions and every Lambda function. Tags are immutable, so use a unique one per build (for example the git commit)."

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a valid Docker tag."
  }
}

variable "ecr_keep_images" {
  type        = number
  description = "Number of most recent images the ECR lifecycle policy keeps. Keep it above the number of tags any deployed environment may still point at."
  default     = 10

  validation {
    condition     = var.ecr_keep_images >= 1
    error_message = "ecr_keep_images must be at least 1."
  }
}

variable "ecr_force_delete" {
  type        = bool
  description = "Let `terraform destroy` delete the ECR repository even when it still holds images."
  default     = false
}

variable "cpu_architecture" {
  type        = string
  description = "CPU architecture of the image, the Fargate tasks and the Lambda functions: X86_64 or ARM64. ARM64 (Graviton) is about 20% cheaper per vCPU-hour, but the seed project found Fargate ARM64 short of capacity when fanning out to hundreds of tasks at once (tasks left PENDING or failed to place), so X86_64 is the default. The image must be built for the chosen architecture."
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "train_cpu" {
  type        = number
  description = "CPU units of the training task (1024 = 1 vCPU); must form a valid Fargate combination with train_memory."
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.train_cpu)
    error_message = "train_cpu must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "train_memory" {
  type        = number
  description = "Memory of the training task in MiB; must form a valid Fargate combination with train_cpu."
  default     = 4096

  validation {
    condition     = var.train_memory >= 512 && var.train_memory <= 122880
    error_message = "train_memory must be between 512 and 122880 MiB."
  }
}

variable "predict_cpu" {
  type        = number
  description = "CPU units of one prediction task (one batch); must form a valid Fargate combination with predict_memory."
  default     = 512

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.predict_cpu)
    error_message = "predict_cpu must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "predict_memory" {
  type        = number
  description = "Memory of one prediction task in MiB; must form a valid Fargate combination with predict_cpu."
  default     = 2048

  validation {
    condition     = var.predict_memory >= 512 && var.predict_memory <= 122880
    error_message = "predict_memory must be between 512 and 122880 MiB."
  }
}

variable "task_ephemeral_storage_gib" {
  type        = number
  description = "Ephemeral storage of each Fargate task in GiB (21-200). Null keeps Fargate's free 20 GiB, enough for the model and one batch in /tmp."
  default     = null

  validation {
    condition     = var.task_ephemeral_storage_gib == null ? true : (var.task_ephemeral_storage_gib >= 21 && var.task_ephemeral_storage_gib <= 200)
    error_message = "task_ephemeral_storage_gib must be null or between 21 and 200."
  }
}

variable "readonly_root_filesystem" {
  type        = bool
  description = "Run the task container with a read-only root filesystem and a scratch volume at /tmp (task ephemeral storage). Turn on only once the image declares `VOLUME /tmp` owned by its non-root user: Fargate creates an empty bind-mount volume owned by root otherwise, and the non-root process could not write its temporary files."
  default     = false
}

variable "lambda_memory_mb" {
  type        = number
  description = "Memory of each Lambda stage in MB (CPU scales with it). The stages mostly start Athena queries and wait, but importing the project's pyarrow/scikit-learn image needs headroom."
  default     = 1024

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240
    error_message = "lambda_memory_mb must be between 128 and 10240."
  }
}

variable "ingest_lambda_memory_mb" {
  type        = number
  description = "Memory of the staging_ingest function, which runs one ingest item (an object, or a byte range of a large one) per invocation. CPU-bound: at 1,769 MB Lambda gives one full vCPU, which the item-size check in batchml plan assumes."
  default     = 2048

  validation {
    condition     = var.ingest_lambda_memory_mb >= 1769 && var.ingest_lambda_memory_mb <= 10240
    error_message = "ingest_lambda_memory_mb must be between 1769 (one full vCPU) and 10240."
  }
}

variable "lambda_timeout_seconds" {
  type        = number
  description = "Timeout of each Lambda function in seconds (Lambda's maximum is 900). No invocation needs it: a stage waits at most 45 s for its Athena queries and returns, and the state machine invokes it again; an ingest item is bounded by its size. The state machine's per-stage timeouts bound the whole stage."
  default     = 900

  validation {
    condition     = var.lambda_timeout_seconds >= 1 && var.lambda_timeout_seconds <= 900
    error_message = "lambda_timeout_seconds must be between 1 and 900."
  }
}

variable "lambda_overrides" {
  type = map(object({
    memory_mb       = optional(number)
    timeout_seconds = optional(number)
  }))
  description = "Per-stage overrides of lambda_memory_mb / lambda_timeout_seconds, keyed by stage name (for example { publish = { timeout_seconds = 120 } })."
  default     = {}

  validation {
    condition = alltrue([for stage in keys(var.lambda_overrides) : contains([
      "pre_cleanup", "staging", "features", "batch_planning", "results_table",
      "aggregation", "publish", "cleanup", "record_failure", "execution_stopped",
    ], stage)])
    error_message = "lambda_overrides keys must be Lambda stage names."
  }
}

# ---------------------------------------------------------------------------
# Orchestration and observability
# ---------------------------------------------------------------------------

variable "sfn_log_level" {
  type        = string
  description = "Step Functions execution log level: ERROR logs failures only; ALL logs every state transition (more CloudWatch ingestion, useful while debugging)."
  default     = "ERROR"

  validation {
    condition     = contains(["ERROR", "ALL"], var.sfn_log_level)
    error_message = "sfn_log_level must be ERROR or ALL."
  }
}

variable "sfn_include_execution_data" {
  type        = bool
  description = "Include state input/output in Step Functions logs. Off by default: payloads may carry data from the lake into the logs."
  default     = false
}

variable "enable_xray_tracing" {
  type        = bool
  description = "Enable AWS X-Ray tracing on the state machine and the Lambda functions (billed per trace)."
  default     = false
}

variable "lambda_log_retention_days" {
  type        = number
  description = "Retention of the Lambda log groups in days."
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90], var.lambda_log_retention_days)
    error_message = "lambda_log_retention_days must be a CloudWatch retention value up to 90: 1, 3, 5, 7, 14, 30, 60 or 90."
  }
}

variable "fargate_log_retention_days" {
  type        = number
  description = "Retention of the Fargate task log groups in days. Hundreds of prediction tasks log per run, so keep it short: 7 to 14 days."
  default     = 7

  validation {
    condition     = contains([7, 14], var.fargate_log_retention_days)
    error_message = "fargate_log_retention_days must be 7 or 14."
  }
}

variable "sfn_log_retention_days" {
  type        = number
  description = "Retention of the Step Functions execution log group in days."
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90], var.sfn_log_retention_days)
    error_message = "sfn_log_retention_days must be a CloudWatch retention value up to 90: 1, 3, 5, 7, 14, 30, 60 or 90."
  }
}

variable "flow_log_retention_days" {
  type        = number
  description = "Retention of the VPC flow log group (rejected traffic only) in days."
  default     = 7

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be 1, 3, 5, 7, 14 or 30."
  }
}

variable "alarm_email" {
  type        = string
  description = "Email address subscribed to the alarm topic (pipeline executions failed or timed out). Null creates the topic without a subscription; AWS sends a confirmation email first."
  default     = null
}

variable "budget_email" {
  type        = string
  description = "Email address AWS Budgets notifies when the month's actual or forecast cost of this project passes 80% / 100% of monthly_budget_usd. Required: a cost guard nobody hears is no guard."

  validation {
    condition     = can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.budget_email))
    error_message = "budget_email must be an email address."
  }
}

variable "monthly_budget_usd" {
  type        = number
  description = "Monthly cost budget in USD for resources tagged project=<project>. The tag must be activated as a cost allocation tag in the Billing console once (it takes up to 24 hours to appear)."
  default     = 50

  validation {
    condition     = var.monthly_budget_usd > 0
    error_message = "monthly_budget_usd must be positive."
  }
}

# ---------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------

variable "create_vpc" {
  type        = bool
  description = "Create a private VPC (no internet gateway, no NAT) for the Fargate tasks. False uses vpc_id and subnet_ids instead."
  default     = true
}

variable "vpc_cidr" {
  type        = string
  description = "CIDR block of the created VPC (create_vpc = true). Each private subnet gets a /20 of it: 4096 addresses, room for hundreds of concurrent tasks, each of which takes one."
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && can(regex("/(16|17|18)$", var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block from /16 to /18 (the subnets are /20s carved out of it)."
  }
}

variable "az_count" {
  type        = number
  description = "Number of availability zones (one private subnet each) the Fargate tasks spread over in a created VPC, unless availability_zones pins them. More zones give Fargate more capacity to place a large fan-out."
  default     = 2

  validation {
    condition     = var.az_count >= 1 && var.az_count <= 4
    error_message = "az_count must be between 1 and 4."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Zones for the created VPC's subnets, pinned explicitly (for example [\"us-east-1a\", \"us-east-1b\"]). Empty takes the first az_count zones of the region."
  default     = []
}

variable "vpc_id" {
  type        = string
  description = "Existing VPC for the Fargate tasks when create_vpc = false."
  default     = null
}

variable "subnet_ids" {
  type        = list(string)
  description = "Existing private subnets for the Fargate tasks when create_vpc = false, one per availability zone (the interface endpoints go into the first vpc_endpoint_az_count of them, and an endpoint takes one subnet per zone)."
  default     = []
}

variable "route_table_ids" {
  type        = list(string)
  description = "Route tables of subnet_ids that get the S3 gateway endpoint when create_vpc = false and create_vpc_endpoints = true."
  default     = []
}

variable "task_egress_cidr_blocks" {
  type        = list(string)
  description = "Extra destinations the tasks may reach on HTTPS, for an existing VPC that reaches AWS through a NAT instead of endpoints (for example [\"0.0.0.0/0\"]). Empty keeps egress to the VPC's endpoints and S3 only."
  default     = []
}

variable "create_vpc_endpoints" {
  type        = bool
  description = "Create the S3 gateway endpoint and the interface endpoints. Without them (and without a NAT) tasks in private subnets cannot pull the image, ship logs or call Athena; set false only for an existing VPC that already has them or a NAT."
  default     = true
}

variable "interface_endpoints" {
  type        = list(string)
  description = "AWS services given an interface VPC endpoint (private DNS on). Each costs about $7.30 per month per availability zone while it exists, the main idle cost of this deployment. ecr.api, ecr.dkr and logs are required for Fargate to pull the image and ship logs without internet; athena and glue are called by the task code (training samples its rows through Athena, and Glue registers the tables). The task code calls neither STS (task credentials come from the Fargate credential endpoint) nor the ECS API, so sts and ecs are not listed: each would cost about $14.60 a month at two zones for nothing."
  default     = ["ecr.api", "ecr.dkr", "logs", "athena", "glue"]

  validation {
    condition     = length(setsubtract(["ecr.api", "ecr.dkr", "logs"], var.interface_endpoints)) == 0
    error_message = "interface_endpoints must include ecr.api, ecr.dkr and logs: without them a Fargate task in a private subnet cannot start."
  }

  validation {
    condition     = alltrue([for s in var.interface_endpoints : can(regex("^[a-z0-9.-]+$", s))])
    error_message = "interface_endpoints entries are service suffixes such as ecr.api (the part after com.amazonaws.<region>.)."
  }
}

variable "vpc_endpoint_az_count" {
  type        = number
  description = "Number of the task subnets (availability zones) that get an interface endpoint network interface. Cost scales linearly with it; 1 halves the endpoint bill but tasks in other zones then cross zones (about $0.01/GB) and lose their endpoints if that zone fails."
  default     = 2

  validation {
    condition     = var.vpc_endpoint_az_count >= 1 && var.vpc_endpoint_az_count <= 4
    error_message = "vpc_endpoint_az_count must be between 1 and 4."
  }
}

variable "enable_flow_logs" {
  type        = bool
  description = "Log rejected traffic of the created VPC to CloudWatch Logs: the quickest way to see which endpoint a task is missing, at little cost since only rejects are logged."
  default     = true
}
