# The pipeline creates and switches its own tables (staging, features, results); Terraform
# owns only the database that holds them and the workgroup that runs every query.

resource "aws_glue_catalog_database" "main" {
  name        = local.glue_database_name
  description = "Tables of the ${local.name_prefix} batch ML pipeline (managed by the pipeline itself)"
}

resource "aws_athena_workgroup" "main" {
  name        = local.name_prefix
  description = "Every query of the ${local.name_prefix} pipeline: result location, encryption and scan cap enforced"
  state       = "ENABLED"
  # Query history and saved queries are disposable; a destroy should not stall on them.
  force_destroy = true

  configuration {
    # Clients cannot override the location, encryption or cap below.
    enforce_workgroup_configuration    = true
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
