# The pipeline creates and switches its own tables (staging, features, results); Terraform
# owns only the database that holds them and the workgroup that runs every query.

resource "aws_glue_catalog_database" "main" {
  name        = local.glue_database_name
  description = "Tables of the ${local.name_prefix} batch ML pipeline (managed by the pipeline itself)"
}

resource "aws_athena_workgroup" "main" {
  # checkov:skip=CKV_AWS_82: enforcing the workgroup's configuration makes every CTAS with external_location fail (AWS: workgroups-troubleshooting); each query sets the results' location and SSE-S3/SSE-KMS encryption itself, the bucket encrypts by default, and IAM limits where the roles write
  name        = local.name_prefix
  description = "Every query of the ${local.name_prefix} pipeline: result location, encryption and scan cap enforced"
  state       = "ENABLED"
  # Query history and saved queries are disposable; a destroy should not stall on them.
  force_destroy = true

  configuration {
    # Not enforced: Athena fails a CTAS that names its external_location in a workgroup that
    # enforces its configuration (https://docs.aws.amazon.com/athena/latest/ug/workgroups-troubleshooting.html),
    # and every table the pipeline writes is a CTAS into the run's own prefix. Each query names
    # the result location and encryption below itself (BATCHML_ATHENA_OUTPUT and _ENCRYPTION, set
    # on every function and task), and IAM confines where the roles may write. The scan cap
    # applies either way: it is a data usage control, not a client-side setting.
    enforce_workgroup_configuration    = false
    publish_cloudwatch_metrics_enabled = true
    # Athena cancels a query past this many bytes, so a runaway query has a fixed price ceiling.
    bytes_scanned_cutoff_per_query = var.athena_bytes_scanned_cutoff

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location       = "s3://${aws_s3_bucket.data.bucket}/${local.athena_results_prefix}"
      expected_bucket_owner = local.account_id

      encryption_configuration {
        encryption_option = local.use_kms ? "SSE_KMS" : "SSE_S3"
        kms_key_arn       = local.kms_key_arn
      }
    }
  }
}
