# One customer managed key for the project (encryption = "SSE-KMS"): S3 objects, Athena results,
# CloudWatch log groups, ECR layers, Lambda environment and the alarm topic. One key keeps the
# idle cost at $1/month; separate keys per service would only multiply it for a single team.

resource "aws_kms_key" "main" {
  count = local.use_kms ? 1 : 0

  description             = "${local.name_prefix}: data bucket, Athena results, logs, ECR, alarm topic"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "main" {
  count = local.use_kms ? 1 : 0

  name          = "alias/${local.name_prefix}"
  target_key_id = aws_kms_key.main[0].key_id
}

data "aws_iam_policy_document" "kms" {
  # checkov:skip=CKV_AWS_111: this is a key policy, where Resource "*" means this one key (the only value KMS accepts); who may use it is limited by principal and encryption context
  # checkov:skip=CKV_AWS_356: this is a key policy, where Resource "*" means this one key (the only value KMS accepts)
  # checkov:skip=CKV_AWS_109: key administration (PutKeyPolicy, grants) is delegated to the account's IAM policies on purpose, so the key can never become unmanageable
  # The account keeps full control so IAM policies decide who uses the key and it can never
  # become unmanageable. Actions are listed rather than kms:* so the configuration carries no
  # wildcard action anywhere.
  statement {
    sid = "AccountAdministersKeyThroughIam"
    actions = [
      "kms:CancelKeyDeletion",
      "kms:CreateAlias",
      "kms:CreateGrant",
      "kms:Decrypt",
      "kms:DeleteAlias",
      "kms:DescribeKey",
      "kms:DisableKey",
      "kms:DisableKeyRotation",
      "kms:EnableKey",
      "kms:EnableKeyRotation",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:GetKeyPolicy",
      "kms:GetKeyRotationStatus",
      "kms:ListAliases",
      "kms:ListGrants",
      "kms:ListKeyPolicies",
      "kms:ListKeyRotations",
      "kms:ListResourceTags",
      "kms:PutKeyPolicy",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
      "kms:RetireGrant",
      "kms:RevokeGrant",
      "kms:RotateKeyOnDemand",
      "kms:ScheduleKeyDeletion",
      "kms:TagResource",
      "kms:UntagResource",
      "kms:UpdateAlias",
      "kms:UpdateKeyDescription",
    ]
    # In a key policy "*" means this key.
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # CloudWatch Logs encrypts log groups with the key itself, not with a caller's role; the
  # encryption context pins it to this project's log groups.
  statement {
    sid = "CloudWatchLogsUsesKeyForProjectLogGroups"
    actions = [
      "kms:Decrypt",
      "kms:DescribeKey",
      "kms:Encrypt",
      "kms:GenerateDataKey",
      "kms:GenerateDataKeyWithoutPlaintext",
      "kms:ReEncryptFrom",
      "kms:ReEncryptTo",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${local.name_prefix}-*",
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/ecs/${local.name_prefix}/*",
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/vendedlogs/states/${local.name_prefix}-*",
        "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/vpc/${local.name_prefix}/*",
      ]
    }
  }

  # CloudWatch alarms publish to the encrypted alarm topic as the CloudWatch service; the AWS
  # managed aws/sns key cannot grant that, which is why the topic uses this key. No condition:
  # CloudWatch's requests carry no caller-account context, and one would silently block delivery.
  # Who may publish at all is still decided by the topic's own policy (this account only).
  statement {
    sid       = "CloudWatchAlarmsPublishToEncryptedTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}
