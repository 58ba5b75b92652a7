# The one data bucket: source data, run intermediates, published results and Athena query
# results, laid out by prefix (ARCHITECTURE.md "Data layout"). One bucket keeps IAM, lifecycle
# and encryption in one place; prefixes give the per-area rules.

resource "aws_s3_bucket" "data" {
  # checkov:skip=CKV_AWS_18: server access logs would double the request volume of a bucket that Athena and hundreds of tasks hit; audit through CloudTrail data events where needed
  # checkov:skip=CKV_AWS_144: cross-region replication is out of scope: runs/ and athena-results/ are disposable and results/ can be recomputed from source
  # checkov:skip=CKV2_AWS_62: nothing consumes object events; the state machine drives every step
  bucket        = local.bucket_name
  force_destroy = var.bucket_force_destroy
}

# Bucket owner owns every object (including Athena CTAS output), and ACLs are off.
resource "aws_s3_bucket_ownership_controls" "data" {
  bucket = aws_s3_bucket.data.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "data" {
  bucket = aws_s3_bucket.data.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# Versioning protects published results under results/ from an overwrite or a buggy cleanup;
# the lifecycle below keeps the version history from growing without bound.
resource "aws_s3_bucket_versioning" "data" {
  bucket = aws_s3_bucket.data.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  bucket = aws_s3_bucket.data.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.use_kms ? "aws:kms" : "AES256"
      kms_master_key_id = local.kms_key_arn
    }
    # A bucket key cuts KMS requests (and their cost) by orders of magnitude when hundreds of
    # tasks read and write small Parquet files.
    bucket_key_enabled = local.use_kms
  }
}

data "aws_iam_policy_document" "data_bucket" {
  # Deny rather than allow, so the wildcard covers every S3 action, including future ones.
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.data.arn,
      "${aws_s3_bucket.data.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid     = "DenyOutdatedTls"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.data.arn,
      "${aws_s3_bucket.data.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }
}

resource "aws_s3_bucket_policy" "data" {
  bucket = aws_s3_bucket.data.id
  policy = data.aws_iam_policy_document.data_bucket.json

  # Writing both at once makes S3 answer OperationAborted (conflicting conditional operation).
  depends_on = [aws_s3_bucket_public_access_block.data]
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  bucket = aws_s3_bucket.data.id

  # Applies to the whole bucket: failed uploads and old versions cost storage forever otherwise.
  rule {
    id     = "bucket-hygiene"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_days
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    expiration {
      expired_object_delete_marker = true
    }
  }

  # Intermediates of a run: kept for resume, then dropped. Their old versions have no value,
  # so they go after one day instead of the bucket-wide window.
  rule {
    id     = "expire-run-intermediates"
    status = "Enabled"

    filter {
      prefix = local.runs_prefix
    }

    expiration {
      days = var.runs_expiration_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  rule {
    id     = "expire-athena-results"
    status = "Enabled"

    filter {
      prefix = local.athena_results_prefix
    }

    expiration {
      days = var.athena_results_expiration_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  # Lifecycle rules on a versioned bucket must be applied after versioning is on.
  depends_on = [aws_s3_bucket_versioning.data]
}
