from tests.integration.aws.fixtures import athena_client, aws, ecs_client, glue_client, s3_client, s3_store

__all__ = ["athena_client", "aws", "ecs_client", "glue_client", "s3_client", "s3_store"]
