# Fargate tasks run in private subnets with no route to the internet: no internet gateway, no
# NAT, no public IPs. Everything they talk to is an AWS API reached through VPC endpoints:
# S3 (data, and ECR's image layers) through a free gateway endpoint, the rest through interface
# endpoints, which are the main idle cost (see var.interface_endpoints, README.md).

locals {
  flow_logs_enabled = var.create_vpc && var.enable_flow_logs

  availability_zones = (
    !var.create_vpc ? [] :
    length(var.availability_zones) > 0 ? var.availability_zones :
    slice(data.aws_availability_zones.available[0].names, 0, var.az_count)
  )

  vpc_cidr_block  = var.create_vpc ? aws_vpc.main[0].cidr_block : data.aws_vpc.existing[0].cidr_block
  route_table_ids = var.create_vpc ? [aws_route_table.private[0].id] : var.route_table_ids

  # Interface endpoints take one subnet per zone; fewer zones, lower bill (var.vpc_endpoint_az_count).
  endpoint_subnet_ids = slice(local.subnet_ids, 0, min(var.vpc_endpoint_az_count, length(local.subnet_ids)))
}

# Regular zones only (Local and Wavelength Zones are opt-in). No `state` filter: a zone that is
# impaired at plan time would shift the list and make Terraform replace the subnets.
data "aws_availability_zones" "available" {
  # checkov:skip=CKV_AWS_394: the names come back sorted and only the first az_count are used, so a zone AWS adds later never changes the set; pin zones explicitly with var.availability_zones
  count = var.create_vpc && length(var.availability_zones) == 0 ? 1 : 0

  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

data "aws_vpc" "existing" {
  count = var.create_vpc ? 0 : 1

  id = var.vpc_id
}

# The AWS-managed prefix list of S3's addresses in this region: lets the task security group
# allow S3 (through the gateway endpoint) without opening HTTPS to the whole internet.
data "aws_prefix_list" "s3" {
  name = "com.amazonaws.${local.region}.s3"
}

resource "aws_vpc" "main" {
  count = var.create_vpc ? 1 : 0

  cidr_block = var.vpc_cidr
  # Interface endpoints with private DNS only resolve when both are on.
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = {
    Name = local.name_prefix
  }
}

# Nothing uses the default security group; stripping its rules keeps anything accidentally
# launched with it isolated.
resource "aws_default_security_group" "main" {
  count = var.create_vpc ? 1 : 0

  vpc_id = aws_vpc.main[0].id
}

resource "aws_subnet" "private" {
  count = length(local.availability_zones)

  vpc_id = aws_vpc.main[0].id
  # /20 per zone: every task takes an address, and a fan-out can run hundreds at once.
  cidr_block              = cidrsubnet(var.vpc_cidr, 20 - tonumber(split("/", var.vpc_cidr)[1]), count.index)
  availability_zone       = local.availability_zones[count.index]
  map_public_ip_on_launch = false

  tags = {
    Name = "${local.name_prefix}-private-${local.availability_zones[count.index]}"
  }
}

# Local routes plus the S3 gateway endpoint's route, nothing else.
resource "aws_route_table" "private" {
  count = var.create_vpc ? 1 : 0

  vpc_id = aws_vpc.main[0].id

  tags = {
    Name = "${local.name_prefix}-private"
  }
}

resource "aws_route_table_association" "private" {
  count = length(local.availability_zones)

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[0].id
}

# ---------------------------------------------------------------------------
# Security groups
# ---------------------------------------------------------------------------

resource "aws_security_group" "tasks" {
  # checkov:skip=CKV2_AWS_5: attached at launch time: the state machine passes this group to every RunTask (security_group_ids), so no Terraform resource references it
  name        = "${local.name_prefix}-tasks"
  description = "Fargate tasks of ${local.name_prefix}: HTTPS out to AWS endpoints only, nothing in"
  vpc_id      = local.vpc_id

  egress {
    description = "HTTPS to the interface endpoints in the VPC"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = [local.vpc_cidr_block]
  }

  egress {
    description     = "HTTPS to S3 through the gateway endpoint (data and ECR image layers)"
    from_port       = 443
    to_port         = 443
    protocol        = "tcp"
    prefix_list_ids = [data.aws_prefix_list.s3.id]
  }

  dynamic "egress" {
    for_each = length(var.task_egress_cidr_blocks) > 0 ? ["extra"] : []
    content {
      description = "HTTPS to extra destinations (existing VPC reaching AWS through a NAT)"
      from_port   = 443
      to_port     = 443
      protocol    = "tcp"
      cidr_blocks = var.task_egress_cidr_blocks
    }
  }

  lifecycle {
    precondition {
      condition     = var.create_vpc || (var.vpc_id != null && length(var.subnet_ids) > 0)
      error_message = "With create_vpc = false, set vpc_id and subnet_ids."
    }

    precondition {
      condition     = var.create_vpc || !var.create_vpc_endpoints || length(var.route_table_ids) > 0
      error_message = "With create_vpc = false and create_vpc_endpoints = true, set route_table_ids for the S3 gateway endpoint."
    }
  }
}

resource "aws_security_group" "endpoints" {
  count = var.create_vpc_endpoints ? 1 : 0

  name        = "${local.name_prefix}-endpoints"
  description = "Interface VPC endpoints of ${local.name_prefix}: HTTPS in from the tasks only"
  vpc_id      = local.vpc_id

  ingress {
    description     = "HTTPS from the Fargate tasks"
    from_port       = 443
    to_port         = 443
    protocol        = "tcp"
    security_groups = [aws_security_group.tasks.id]
  }
}

# ---------------------------------------------------------------------------
# VPC endpoints
# ---------------------------------------------------------------------------

# Only what the tasks need through this endpoint: the data bucket and the bucket ECR serves
# image layers from. Applied only to a created VPC: in an existing one the endpoint sits on
# route tables other workloads share, and this policy would cut them off from S3.
data "aws_iam_policy_document" "s3_endpoint" {
  # checkov:skip=CKV_AWS_283: ECR hands out presigned URLs for image layers, so layer downloads are not made by a principal of this account and cannot be conditioned on one; that statement is limited to GetObject on ECR's layer bucket, and the data bucket statement is limited to this account's principals
  statement {
    sid = "PipelineDataBucket"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:DeleteObject",
      "s3:GetBucketLocation",
      "s3:GetObject",
      "s3:ListBucket",
      "s3:ListMultipartUploadParts",
      "s3:PutObject",
    ]
    resources = [local.bucket_arn, "${local.bucket_arn}/*"]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }

    # Credentials of another account cannot be used from inside this VPC to reach the bucket.
    condition {
      test     = "StringEquals"
      variable = "aws:PrincipalAccount"
      values   = [local.account_id]
    }
  }

  statement {
    sid       = "EcrImageLayers"
    actions   = ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::prod-${local.region}-starport-layer-bucket/*"]

    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
  }
}

resource "aws_vpc_endpoint" "s3" {
  count = var.create_vpc_endpoints ? 1 : 0

  vpc_id            = local.vpc_id
  service_name      = "com.amazonaws.${local.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = local.route_table_ids
  policy            = var.create_vpc ? data.aws_iam_policy_document.s3_endpoint.json : null

  tags = {
    Name = "${local.name_prefix}-s3"
  }
}

resource "aws_vpc_endpoint" "interface" {
  for_each = var.create_vpc_endpoints ? toset(var.interface_endpoints) : toset([])

  vpc_id              = local.vpc_id
  service_name        = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = local.endpoint_subnet_ids
  security_group_ids  = [aws_security_group.endpoints[0].id]

  tags = {
    Name = "${local.name_prefix}-${each.key}"
  }
}

# Rejected traffic only: it is what shows a task trying to reach a service that has no endpoint.
resource "aws_flow_log" "main" {
  count = local.flow_logs_enabled ? 1 : 0

  vpc_id                   = aws_vpc.main[0].id
  traffic_type             = "REJECT"
  log_destination_type     = "cloud-watch-logs"
  log_destination          = aws_cloudwatch_log_group.flow_logs[0].arn
  iam_role_arn             = aws_iam_role.flow_logs[0].arn
  max_aggregation_interval = 600
}
