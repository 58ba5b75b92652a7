"""The Athena limits the emulator enforces, as plain numbers, each taken from the project's single
list of AWS limits (adapters/aws/limits.py, where each has its value, source page and caveats).

Only the GetQueryResults page size is not there: an API constraint rather than a quota, so it is
kept here with its page.
"""

from __future__ import annotations

from adapters.aws import limits

MAX_PARTITIONS_PER_CTAS = int(limits.ATHENA_MAX_PARTITIONS_PER_CTAS.value)
MAX_PARTITIONS_PER_INSERT = int(limits.ATHENA_MAX_PARTITIONS_PER_INSERT_INTO.value)
MAX_QUERY_STRING_BYTES = int(limits.ATHENA_MAX_QUERY_STRING_BYTES.value)
ACTIVE_DML_QUERIES_US_EAST_1 = int(limits.ATHENA_ACTIVE_DML_QUERIES_US_EAST_1.value)
DML_QUERY_TIMEOUT_SECONDS = int(limits.ATHENA_DML_TIMEOUT_DEFAULT_MINUTES.value) * 60
MIN_BYTES_SCANNED_CUTOFF = int(limits.ATHENA_BYTES_SCANNED_CUTOFF_MIN_BYTES.value)
GLUE_PARTITIONS_PER_BATCH_CREATE = int(limits.GLUE_BATCH_CREATE_PARTITION_MAX.value)

# https://docs.aws.amazon.com/athena/latest/APIReference/API_GetQueryResults.html: MaxResults, 1 to 1000.
MAX_RESULTS_PER_PAGE = 1000
