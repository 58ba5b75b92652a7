"""Athena's documented limits, each once, with the page it comes from.

Interim home: the lead is committing `adapters/aws/limits.py`; when it lands on main these
constants move there and the emulator imports them.
"""

from __future__ import annotations

# https://docs.aws.amazon.com/athena/latest/ug/ctas-insert-into.html
# "Athena has a limit of 100 partitions per CREATE TABLE AS SELECT (CTAS) query. Similarly, you can
# add a maximum of 100 partitions to a destination table with an INSERT INTO statement."
MAX_PARTITIONS_PER_WRITE = 100

# https://docs.aws.amazon.com/athena/latest/ug/service-limits.html ("Query string length"):
# 262144 bytes, encoded in UTF-8; not adjustable.
MAX_QUERY_STRING_BYTES = 262_144

# https://docs.aws.amazon.com/general/latest/gr/athena.html (Service quotas): "Active DML queries"
# in US East (N. Virginia) is 200 by default, and it counts queued queries as well as running ones
# (https://docs.aws.amazon.com/athena/latest/ug/service-limits.html). Other regions have 20-150.
ACTIVE_DML_QUERIES_US_EAST_1 = 200

# https://docs.aws.amazon.com/general/latest/gr/athena.html: "DML query timeout", 30 minutes by
# default (adjustable up to 240, https://docs.aws.amazon.com/athena/latest/ug/service-limits.html).
DML_QUERY_TIMEOUT_SECONDS = 30 * 60

# https://docs.aws.amazon.com/athena/latest/APIReference/API_GetQueryResults.html: MaxResults <= 1000.
MAX_RESULTS_PER_PAGE = 1000

# https://docs.aws.amazon.com/athena/latest/APIReference/API_WorkGroupConfiguration.html:
# BytesScannedCutoffPerQuery has a minimum of 10000000 bytes; the console and Terraform's
# variable speak of 10 MB (terraform/variables.tf validates >= 10485760).
MIN_BYTES_SCANNED_CUTOFF = 10_000_000
