# One image for everything: the Fargate tasks (batchml-task) and every Lambda stage
# (awslambdaric + entrypoints.lambda_handlers), so the code that runs is the code that was tested.

resource "aws_ecr_repository" "main" {
  name = local.name_prefix
  # A tag always names the same bytes: a deployed Lambda or task definition cannot change
  # under a redeploy of an older tag.
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.ecr_force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = local.use_kms ? "KMS" : "AES256"
    kms_key         = local.kms_key_arn
  }
}

resource "aws_ecr_lifecycle_policy" "main" {
  repository = aws_ecr_repository.main.name

  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Keep only the ${var.ecr_keep_images} most recent images; storage is billed per GB-month"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.ecr_keep_images
        }
        action = {
          type = "expire"
        }
      },
    ]
  })
}

# Lambda pulls the image as the Lambda service, not as the function's role; without this
# statement Lambda tries to add it itself at create time and Terraform would fight that edit.
data "aws_iam_policy_document" "ecr_lambda_pull" {
  statement {
    sid     = "LambdaPullsProjectFunctionImages"
    actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringLike"
      variable = "aws:sourceArn"
      values   = ["arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${local.name_prefix}-*"]
    }
  }
}

resource "aws_ecr_repository_policy" "main" {
  repository = aws_ecr_repository.main.name
  policy     = data.aws_iam_policy_document.ecr_lambda_pull.json
}
