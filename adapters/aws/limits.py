"""The documented AWS limits batchml's AWS backend is held to, each written once.

Emulators run AWS's APIs, not its limits: a design that passed every emulator test could
still be one AWS rejects. So every limit the design leans on is a constant here, with its
value, unit, whether it can be raised, and the AWS page it comes from; the tests, the
limits harness (tests/integration/aws/limits_harness.py) and `batchml plan` check against
these, never against an emulator's leniency.

- A note starting with "UNVERIFIED" means the value came from a secondary
  source; check it before relying on it.
- adjustable=True means a soft quota (Service Quotas console or Support).
- adjustable=False means a hard quota, or a fixed API/language constraint.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    name: str
    value: float
    unit: str
    adjustable: bool
    source: str  # URL of the official page
    note: str


# --------------------------------------------------------------------------
# Source URLs
# --------------------------------------------------------------------------
_LAMBDA_QUOTAS = "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"
_LAMBDA_MEMORY = "https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html"
_LAMBDA_EPHEMERAL = "https://docs.aws.amazon.com/lambda/latest/dg/API_EphemeralStorage.html"
_LAMBDA_6VCPU_BLOG = (
    "https://aws.amazon.com/blogs/aws/new-for-aws-lambda-functions-with-up-to-10-gb-of-memory-and-6-vcpus/"
)
_SFN_QUOTAS = "https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html"
_SFN_INLINE_MAP = "https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html"
_SFN_DIST_MAP = "https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html"
_SFN_ITEMREADER = "https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html"
_SFN_ITEMBATCHER = "https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html"
_SFN_RESULTWRITER = "https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html"
_SFN_TASK = "https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html"
_SFN_WAIT = "https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html"
_SFN_INTRINSICS = "https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html"
_SFN_ERRORS = "https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html"
_SFN_LAMBDA_BP = "https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html"
_SFN_ECS = "https://docs.aws.amazon.com/step-functions/latest/dg/connect-ecs.html"
_ATHENA_QUOTAS = "https://docs.aws.amazon.com/athena/latest/ug/service-limits.html"
_ATHENA_GR = "https://docs.aws.amazon.com/general/latest/gr/athena.html"
_ATHENA_CTAS_INSERT = "https://docs.aws.amazon.com/athena/latest/ug/ctas-insert-into.html"
_ATHENA_WG_CONFIG_API = "https://docs.aws.amazon.com/athena/latest/APIReference/API_WorkGroupConfiguration.html"
_ATHENA_PRICING = "https://aws.amazon.com/athena/pricing/"
_ECS_API_THROTTLING = "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html"
_FARGATE_THROTTLING = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/throttling.html"
_FARGATE_QUOTAS_GR = "https://docs.aws.amazon.com/general/latest/gr/ecs-service.html#service-quotas-fargate"
_FARGATE_STORAGE = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-storage.html"
_FARGATE_CPU_MEM = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html"
_FARGATE_PRICING = "https://aws.amazon.com/fargate/pricing/"
_S3_PERF = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html"
_S3_MPU = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html"
_S3_LATENCY = (
    "https://docs.aws.amazon.com/whitepapers/latest/s3-optimizing-performance-best-practices/"
    "timeouts-and-retries-for-latency-sensitive-applications.html"
)
_GLUE_PARTITIONS_API = "https://docs.aws.amazon.com/glue/latest/dg/aws-glue-api-catalog-partitions.html"

# --------------------------------------------------------------------------
# AWS Lambda
# --------------------------------------------------------------------------
LAMBDA_TIMEOUT_SECONDS = Limit(
    "Lambda function timeout (max)",
    900,
    "s",
    False,
    _LAMBDA_QUOTAS,
    "900 seconds (15 minutes).",
)
LAMBDA_MEMORY_MIN_MB = Limit(
    "Lambda memory minimum",
    128,
    "MB (Lambda MB = 1024 KB)",
    False,
    _LAMBDA_QUOTAS,
    "128 MB to 10,240 MB, in 1-MB increments.",
)
LAMBDA_MEMORY_MAX_MB = Limit(
    "Lambda memory maximum",
    10240,
    "MB (Lambda MB = 1024 KB)",
    False,
    _LAMBDA_QUOTAS,
    "New accounts may have reduced memory quotas.",
)
LAMBDA_MEMORY_ONE_VCPU_MB = Limit(
    "Lambda memory giving one full vCPU",
    1769,
    "MB",
    False,
    _LAMBDA_MEMORY,
    "At 1,769 MB, a function has the equivalent of one vCPU; CPU scales with memory.",
)
LAMBDA_MAX_VCPUS = Limit(
    "Lambda vCPUs at 10,240 MB",
    6,
    "vCPU",
    False,
    _LAMBDA_6VCPU_BLOG,
    "UNVERIFIED on docs.aws.amazon.com: only stated in the AWS News Blog (Dec 2020).",
)
LAMBDA_TMP_DEFAULT_MB = Limit(
    "Lambda /tmp ephemeral storage default",
    512,
    "MB",
    False,
    _LAMBDA_EPHEMERAL,
    "Configurable per function (EphemeralStorage.Size).",
)
LAMBDA_TMP_MAX_MB = Limit(
    "Lambda /tmp ephemeral storage max",
    10240,
    "MB",
    False,
    _LAMBDA_QUOTAS,
    "Between 512 MB and 10,240 MB, in 1-MB increments.",
)
LAMBDA_SYNC_REQUEST_PAYLOAD_MB = Limit(
    "Lambda synchronous invocation request payload",
    6,
    "MB",
    False,
    _LAMBDA_QUOTAS,
    "6 MB each for request and response (synchronous). The Step Functions 256 KiB state limit is lower.",
)
LAMBDA_SYNC_RESPONSE_PAYLOAD_MB = Limit(
    "Lambda synchronous invocation response payload",
    6,
    "MB",
    False,
    _LAMBDA_QUOTAS,
    "A streamed response may be up to 200 MB.",
)
LAMBDA_ASYNC_PAYLOAD_MB = Limit(
    "Lambda asynchronous invocation payload",
    1,
    "MB",
    False,
    _LAMBDA_QUOTAS,
    "Was 256 KB in the 2022 docs; the live page says 1 MB.",
)
LAMBDA_ACCOUNT_CONCURRENCY = Limit(
    "Lambda concurrent executions per account per Region",
    1000,
    "executions",
    True,
    _LAMBDA_QUOTAS,
    "Default 1,000, can be raised to tens of thousands; new accounts start lower.",
)
LAMBDA_SCALING_ENVS_PER_10S = Limit(
    "Lambda per-function concurrency scaling rate",
    1000,
    "execution environments per 10 s",
    False,
    _LAMBDA_QUOTAS,
    "For each function, 1,000 execution environments every 10 seconds.",
)

# Recommended retrier for arn:aws:states:::lambda:invoke tasks, verbatim from
# https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html
# (IntervalSeconds 2, MaxAttempts 6, BackoffRate 2).
# - Lambda.TooManyRequestsException is mentioned on that page but is NOT in
#   the recommended list.
# - Function timeouts and out-of-memory errors are reported as Lambda.Unknown.
LAMBDA_RETRYABLE_ERRORS: tuple[str, ...] = (
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
)
LAMBDA_RETRY_INTERVAL_SECONDS = Limit(
    "Recommended Lambda retrier IntervalSeconds",
    2,
    "s",
    False,
    _SFN_LAMBDA_BP,
    "From the documented example retrier.",
)
LAMBDA_RETRY_MAX_ATTEMPTS = Limit(
    "Recommended Lambda retrier MaxAttempts",
    6,
    "attempts",
    False,
    _SFN_LAMBDA_BP,
    "From the documented example retrier.",
)
LAMBDA_RETRY_BACKOFF_RATE = Limit(
    "Recommended Lambda retrier BackoffRate",
    2,
    "multiplier",
    False,
    _SFN_LAMBDA_BP,
    "From the documented example retrier.",
)
# Error name Step Functions reports for a Lambda function timeout or OOM
# (documented). Sandbox.Timedout has been observed in practice (UNVERIFIED in
# the SFN docs); catching States.TaskFailed covers both.
LAMBDA_UNHANDLED_ERROR_NAME: str = "Lambda.Unknown"
LAMBDA_THROTTLE_ERROR_NAME: str = "Lambda.TooManyRequestsException"

# --------------------------------------------------------------------------
# AWS Step Functions
# --------------------------------------------------------------------------
SFN_MAX_PAYLOAD_BYTES = Limit(
    "Step Functions max input/output size (task, state, execution)",
    262144,
    "bytes (UTF-8)",
    False,
    _SFN_QUOTAS,
    "256 KiB hard quota; exceeding it gives States.DataLimitExceeded.",
)
SFN_MAX_HISTORY_EVENTS = Limit(
    "Step Functions Standard max execution history",
    25000,
    "events",
    False,
    _SFN_QUOTAS,
    "If the history reaches this quota, the execution fails.",
)
SFN_MAX_EXECUTION_SECONDS_STANDARD = Limit(
    "Step Functions Standard max execution time",
    365 * 24 * 3600,
    "s (1 year)",
    False,
    _SFN_QUOTAS,
    "Documented as '1 year'; fails with States.Timeout.",
)
SFN_MAX_DEFINITION_BYTES = Limit(
    "Step Functions max state machine definition size",
    1048576,
    "bytes (1 MB)",
    False,
    _SFN_QUOTAS,
    "Hard quota; API Definition shape is @length(1, 1048576).",
)
SFN_MAX_OPEN_EXECUTIONS = Limit(
    "Step Functions max open executions per account per Region",
    1000000,
    "executions",
    True,
    _SFN_QUOTAS,
    "Exceeding it gives ExecutionLimitExceeded. Doesn't apply to Express.",
)
SFN_INLINE_MAP_MAX_CONCURRENCY = Limit(
    "Inline Map concurrent iterations",
    40,
    "iterations",
    False,
    _SFN_INLINE_MAP,
    "In this mode, the Map state supports up to 40 concurrent iterations.",
)
SFN_DISTRIBUTED_MAP_MAX_CONCURRENCY = Limit(
    "Distributed Map parallel child executions",
    10000,
    "child executions",
    False,
    _SFN_QUOTAS,
    "Hard quota; also the default when MaxConcurrency is unset or 0.",
)
SFN_MAX_OPEN_MAP_RUNS = Limit(
    "Step Functions max open Map Runs",
    1000,
    "Map Runs",
    False,
    _SFN_QUOTAS,
    "Hard quota; backlogged Map Runs wait at MapRunStarted (they don't fail).",
)
SFN_MAX_MAP_RUN_REDRIVES = Limit(
    "Step Functions max redrives of a Map Run",
    1000,
    "redrives",
    False,
    _SFN_QUOTAS,
    "Hard quota.",
)
SFN_REDRIVABLE_PERIOD_DAYS = Limit(
    "Step Functions execution redrivable period",
    14,
    "days",
    False,
    _SFN_QUOTAS,
    "Standard workflows only.",
)
SFN_ITEMREADER_MAX_FILE_BYTES = Limit(
    "Distributed Map ItemReader max single S3 file size",
    10,
    "GB",
    False,
    _SFN_ITEMREADER,
    "Step Functions supports 10 GB as the maximum size of an individual file in Amazon S3.",
)
SFN_ITEMREADER_MAX_ITEM_MB = Limit(
    "Distributed Map ItemReader max item read (CSV/JSON/JSONL)",
    8,
    "MB",
    False,
    _SFN_ITEMREADER,
    "Only if ItemSelector then reduces the item below the 256 KiB child input.",
)
SFN_CHILD_EXECUTION_INPUT_BYTES = Limit(
    "Distributed Map child execution input",
    262144,
    "bytes (256 KiB)",
    False,
    _SFN_ITEMREADER,
    "The execution input used to start a child workflow execution can't exceed 256 KiB.",
)
SFN_ITEMREADER_MAX_ITEMS = Limit(
    "Distributed Map ItemReader MaxItems ceiling",
    100000000,
    "items",
    False,
    _SFN_ITEMREADER,
    "You can specify a limit of up to 100,000,000.",
)
SFN_ITEMREADER_CSV_HEADER_KIB = Limit(
    "Distributed Map ItemReader CSV header size",
    10,
    "KiB",
    False,
    _SFN_ITEMREADER,
    "Headers of up to 10 KiB.",
)
SFN_ITEMBATCHER_MAX_BYTES = Limit(
    "Distributed Map ItemBatcher max batch size",
    262144,
    "bytes (256 KiB)",
    False,
    _SFN_ITEMBATCHER,
    "MaxInputBytesPerBatch up to 256 KiB; MaxItemsPerBatch has no documented max.",
)
SFN_RESULTWRITER_MAX_FILE_GB = Limit(
    "Distributed Map ResultWriter max result file",
    5,
    "GB",
    False,
    _SFN_RESULTWRITER,
    "Larger results are split into SUCCEEDED_1.json, ...; bucket must be same account/Region.",
)
SFN_MAP_LABEL_MAX_CHARS = Limit(
    "Distributed Map Label length",
    40,
    "characters",
    False,
    _SFN_DIST_MAP,
    "Labels can't exceed 40 characters.",
)
SFN_TASK_TIMEOUT_DEFAULT_SECONDS = Limit(
    "Task TimeoutSeconds / HeartbeatSeconds default",
    99999999,
    "s",
    False,
    _SFN_TASK,
    "Positive non-zero integer. Heartbeat must be < TimeoutSeconds. TimeoutSecondsPath and "
    "HeartbeatSecondsPath exist (JSONPath only). No other documented max; "
    "execution max is 1 year.",
)
SFN_WAIT_MAX_SECONDS = Limit(
    "Wait state Seconds range maximum",
    99999999,
    "s",
    False,
    _SFN_WAIT,
    "Integer 0..99,999,999, but the wait can't exceed 1 year (Standard) or 5 min (Express).",
)
SFN_RETRY_MAX_INTERVAL_OR_ATTEMPTS = Limit(
    "Retrier IntervalSeconds / MaxAttempts maximum",
    99999999,
    "s / attempts",
    False,
    _SFN_ERRORS,
    "From the archived 2022 error-handling page.",
)
SFN_STATE_TRANSITION_BUCKET_BIG3 = Limit(
    "Standard StateTransition bucket (us-east-1, us-west-2, eu-west-1)",
    5000,
    "transitions",
    True,
    _SFN_QUOTAS,
    "New accounts have reduced state transition quotas.",
)
SFN_STATE_TRANSITION_REFILL_BIG3 = Limit(
    "Standard StateTransition refill (us-east-1, us-west-2, eu-west-1)",
    5000,
    "transitions/s",
    True,
    _SFN_QUOTAS,
    "Was 1,500/s in the 2022 docs.",
)
SFN_STATE_TRANSITION_BUCKET_OTHER = Limit(
    "Standard StateTransition bucket (other Regions)",
    800,
    "transitions",
    True,
    _SFN_QUOTAS,
    "",
)
SFN_STATE_TRANSITION_REFILL_OTHER = Limit(
    "Standard StateTransition refill (other Regions)",
    800,
    "transitions/s",
    True,
    _SFN_QUOTAS,
    "Was 500/s in the 2022 docs.",
)
SFN_START_EXECUTION_BUCKET_BIG3 = Limit(
    "Standard StartExecution bucket (us-east-1, us-west-2, eu-west-1)",
    1300,
    "calls",
    True,
    _SFN_QUOTAS,
    "",
)
SFN_START_EXECUTION_REFILL_BIG3 = Limit(
    "Standard StartExecution refill (us-east-1, us-west-2, eu-west-1)",
    300,
    "calls/s",
    True,
    _SFN_QUOTAS,
    "",
)
SFN_START_EXECUTION_BUCKET_OTHER = Limit(
    "Standard StartExecution bucket (other Regions)",
    800,
    "calls",
    True,
    _SFN_QUOTAS,
    "",
)
SFN_START_EXECUTION_REFILL_OTHER = Limit(
    "Standard StartExecution refill (other Regions)",
    150,
    "calls/s",
    True,
    _SFN_QUOTAS,
    "",
)
SFN_INTRINSIC_MAX_NESTING = Limit(
    "Intrinsic function nesting depth",
    10,
    "levels",
    False,
    _SFN_INTRINSICS,
    "Intrinsics work only in JSONPath states.",
)
SFN_MATH_ADD_MAX = Limit(
    "States.MathAdd max argument",
    2147483647,
    "integer",
    False,
    _SFN_INTRINSICS,
    "Arguments must be in -2147483648..2147483647.",
)
SFN_MATH_ADD_MIN = Limit(
    "States.MathAdd min argument",
    -2147483648,
    "integer",
    False,
    _SFN_INTRINSICS,
    "",
)
SFN_ARRAY_RANGE_MAX_ITEMS = Limit(
    "States.ArrayRange max generated items",
    1000,
    "items",
    False,
    _SFN_INTRINSICS,
    "",
)

# Names of intrinsic functions documented at _SFN_INTRINSICS.
SFN_INTRINSIC_FUNCTIONS: tuple[str, ...] = (
    "States.Array",
    "States.ArrayPartition",
    "States.ArrayContains",
    "States.ArrayRange",
    "States.ArrayGetItem",
    "States.ArrayLength",
    "States.ArrayUnique",
    "States.Base64Encode",
    "States.Base64Decode",
    "States.Hash",
    "States.JsonMerge",
    "States.StringToJson",
    "States.JsonToString",
    "States.MathRandom",
    "States.MathAdd",
    "States.StringSplit",
    "States.UUID",
    "States.Format",
)

# ECS runTask.sync error names; see _SFN_ECS and the research notes.
# - Documented: a non-empty RunTask `failures` gives AmazonECS.Unknown.
# - AWS Knowledge Center (not docs): capacity errors give ECS.AmazonECSException.
# - UNVERIFIED (observed, undocumented): a non-zero container exit gives
#   States.TaskFailed, with the task description JSON as Cause.
ECS_RUNTASK_FAILURES_ERROR_NAME: str = "AmazonECS.Unknown"
ECS_RUNTASK_CAPACITY_ERROR_NAME: str = "ECS.AmazonECSException"
ECS_TASK_NONZERO_EXIT_ERROR_NAME: str = "States.TaskFailed"

# --------------------------------------------------------------------------
# Amazon Athena
# --------------------------------------------------------------------------
ATHENA_MAX_PARTITIONS_PER_CTAS = Limit(
    "Athena max partitions written per CTAS",
    100,
    "partition x bucket combinations",
    False,
    _ATHENA_CTAS_INSERT,
    "Exceeding it gives HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of 100 open writers.",
)
ATHENA_MAX_PARTITIONS_PER_INSERT_INTO = Limit(
    "Athena max partitions added per INSERT INTO",
    100,
    "partitions",
    False,
    _ATHENA_CTAS_INSERT,
    "Same error as CTAS.",
)
ATHENA_ACTIVE_DML_QUERIES_US_EAST_1 = Limit(
    "Athena active DML queries (running + queued), us-east-1",
    200,
    "queries",
    True,
    _ATHENA_GR,
    "UNVERIFIED (secondary sources quoting the General Reference). Exceeding it gives TooManyRequestsException.",
)
ATHENA_ACTIVE_DML_QUERIES_EU_WEST_1 = Limit(
    "Athena active DML queries (running + queued), eu-west-1",
    150,
    "queries",
    True,
    _ATHENA_GR,
    "UNVERIFIED (secondary). Also 150: us-east-2, us-west-2, eu-central-1, ap-northeast-1; many small Regions: 20.",
)
# The lowest regional default: what a design that must run in any Region plans for.
ATHENA_ACTIVE_DML_QUERIES_SMALL_REGION = Limit(
    "Athena active DML queries (running + queued), smallest regional default",
    20,
    "queries",
    True,
    _ATHENA_GR,
    "UNVERIFIED (secondary sources quoting the General Reference): many small Regions have 20.",
)
ATHENA_ACTIVE_DDL_QUERIES = Limit(
    "Athena active DDL queries",
    20,
    "queries",
    True,
    _ATHENA_GR,
    "UNVERIFIED (secondary).",
)
ATHENA_DML_TIMEOUT_DEFAULT_MINUTES = Limit(
    "Athena DML query timeout (default)",
    30,
    "min",
    True,
    _ATHENA_GR,
    "UNVERIFIED default (secondary).",
)
ATHENA_DML_TIMEOUT_MAX_MINUTES = Limit(
    "Athena DML query timeout (max after increase)",
    240,
    "min",
    False,
    _ATHENA_QUOTAS,
    "You can request an increase in this timeout up to a maximum of 240 minutes.",
)
ATHENA_MAX_QUERY_STRING_BYTES = Limit(
    "Athena max query string length",
    262144,
    "bytes (UTF-8)",
    False,
    _ATHENA_QUOTAS,
    "This is not an adjustable quota.",
)
ATHENA_START_QUERY_RATE = Limit(
    "Athena StartQueryExecution/StopQueryExecution sustained rate",
    20,
    "calls/s",
    True,
    _ATHENA_QUOTAS,
    "2023 docs; increase via Support; exceeding it gives ThrottlingException.",
)
ATHENA_START_QUERY_BURST = Limit(
    "Athena StartQueryExecution/StopQueryExecution burst",
    80,
    "calls",
    True,
    _ATHENA_QUOTAS,
    "Burst accumulates after 4 s without calls (2023 docs).",
)
ATHENA_GET_QUERY_EXECUTION_RATE = Limit(
    "Athena GetQueryExecution/GetQueryResults sustained rate",
    100,
    "calls/s",
    True,
    _ATHENA_QUOTAS,
    "2023 docs.",
)
ATHENA_GET_QUERY_EXECUTION_BURST = Limit(
    "Athena GetQueryExecution/GetQueryResults burst",
    200,
    "calls",
    True,
    _ATHENA_QUOTAS,
    "2023 docs.",
)
ATHENA_BYTES_SCANNED_CUTOFF_MIN_BYTES = Limit(
    "Athena BytesScannedCutoffPerQuery minimum",
    10000000,
    "bytes (decimal 10 MB)",
    False,
    _ATHENA_WG_CONFIG_API,
    "Exceeding it cancels the query ('query state CANCELED. Bytes scanned limit was "
    "exceeded.'); scanned bytes are still billed. The docs don't tie it to "
    "EnforceWorkGroupConfiguration.",
)
ATHENA_PRICE_USD_PER_TB = Limit(
    "Athena SQL price per TB scanned",
    5.0,
    "USD/TB",
    False,
    _ATHENA_PRICING,
    "UNVERIFIED here (pricing page quoted by third parties); most Regions.",
)
ATHENA_MIN_BILLED_MB_PER_QUERY = Limit(
    "Athena minimum billed data per query",
    10,
    "MB",
    False,
    _ATHENA_PRICING,
    "UNVERIFIED here; rounded up to the nearest MB.",
)
# ClientRequestToken: same token gives the same QueryExecutionId and no new
# query. No retention window is documented.

# --------------------------------------------------------------------------
# Amazon ECS / AWS Fargate
# --------------------------------------------------------------------------
ECS_RUNTASK_API_BURST = Limit(
    "ECS RunTask API burst (cluster resource modify actions)",
    100,
    "requests",
    True,
    _ECS_API_THROTTLING,
    "Bucket shared with StartTask, StopTask, etc.",
)
ECS_RUNTASK_API_SUSTAINED = Limit(
    "ECS RunTask API sustained (cluster resource modify actions)",
    40,
    "requests/s",
    True,
    _ECS_API_THROTTLING,
    "Exceeding it gives ThrottlingException.",
)
FARGATE_RUNTASK_API_RATE = Limit(
    "Fargate additional RunTask throttle (burst and sustained)",
    20,
    "calls/s",
    True,
    _FARGATE_THROTTLING,
    "2023 docs; also quoted from the live page in 2025.",
)
ECS_RUNTASK_MAX_TASKS_PER_CALL = Limit(
    "ECS RunTask max tasks per call",
    10,
    "tasks",
    False,
    _FARGATE_THROTTLING,
    "",
)
FARGATE_TASK_LAUNCH_BURST = Limit(
    "Fargate On-Demand task launch burst",
    100,
    "tasks",
    True,
    _FARGATE_THROTTLING,
    "Token bucket, per account per Region.",
)
FARGATE_TASK_LAUNCH_SUSTAINED = Limit(
    "Fargate On-Demand task launch sustained rate",
    20,
    "tasks/s",
    True,
    _FARGATE_THROTTLING,
    "",
)
FARGATE_ON_DEMAND_VCPU_DEFAULT = Limit(
    "Fargate On-Demand vCPU resource count (L-3032A538)",
    6,
    "vCPU (concurrent)",
    True,
    _FARGATE_QUOTAS_GR,
    "UNVERIFIED table (AWS Batch API doc + third-party quote). New accounts may be lower. "
    "When hit: 'You've reached the limit on the number of vCPUs you can run concurrently'.",
)
FARGATE_EPHEMERAL_STORAGE_DEFAULT_GIB = Limit(
    "Fargate ephemeral storage default",
    20,
    "GiB",
    False,
    _FARGATE_STORAGE,
    "Linux platform 1.4.0+. The container image counts against it.",
)
FARGATE_EPHEMERAL_STORAGE_MAX_GIB = Limit(
    "Fargate ephemeral storage max",
    200,
    "GiB",
    False,
    _FARGATE_STORAGE,
    "Set with the ephemeralStorage task definition parameter.",
)
FARGATE_MIN_BILLED_SECONDS = Limit(
    "Fargate minimum charge",
    60,
    "s",
    False,
    _FARGATE_PRICING,
    "UNVERIFIED here (pricing page quoted by third parties). Per-second billing from image pull start.",
)

# Valid Fargate task sizes (Linux): CPU units -> allowed task memory in MiB.
# Source: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html
# (also the ECS API reference TaskDefinition.memory). 8192 and 16384 need
# platform 1.4.0+. A 32 vCPU row seen in one doc copy is UNVERIFIED and
# omitted.
FARGATE_TASK_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: (1024, 2048, 3072, 4096),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

# --------------------------------------------------------------------------
# Amazon S3
# --------------------------------------------------------------------------
S3_WRITE_RPS_PER_PREFIX = Limit(
    "S3 PUT/COPY/POST/DELETE per partitioned prefix",
    3500,
    "requests/s",
    False,
    _S3_PERF,
    "'At least'; exceeding it gives 503 Slow Down while S3 repartitions.",
)
S3_READ_RPS_PER_PREFIX = Limit(
    "S3 GET/HEAD per partitioned prefix",
    5500,
    "requests/s",
    False,
    _S3_PERF,
    "Athena reads share this limit.",
)
S3_SMALL_REQUEST_LATENCY_MS = Limit(
    "S3 median latency of a small request (under 512 KB)",
    10,
    "ms",
    False,
    _S3_LATENCY,
    "'often in the range of tens of milliseconds': 10 ms, the bottom of that range, bounds the "
    "requests per second a fixed number of threads can make (not a quota; a documented figure).",
)
S3_MPU_MIN_PART_MIB = Limit(
    "S3 multipart minimum part size",
    5,
    "MiB",
    False,
    _S3_MPU,
    "No minimum for the last part.",
)
S3_MPU_MAX_PART_GIB = Limit(
    "S3 multipart maximum part size",
    5,
    "GiB",
    False,
    _S3_MPU,
    "",
)
S3_MPU_MAX_PARTS = Limit(
    "S3 multipart max parts per upload",
    10000,
    "parts",
    False,
    _S3_MPU,
    "Part numbers 1..10,000.",
)
S3_MAX_OBJECT_TIB = Limit(
    "S3 maximum object size",
    48.8,
    "TiB",
    False,
    _S3_MPU,
    "Live English page; was 5 TiB.",
)
# Conditional writes: If-None-Match: "*" (create-only) and If-Match: <ETag> on
# PutObject and CompleteMultipartUpload.
# - Precondition not met gives 412 Precondition Failed.
# - A concurrent conflicting write gives 409 ConditionalRequestConflict
#   (retry).
# - Requires SigV4 / HTTPS.
S3_CONDITIONAL_WRITES_AVAILABLE: bool = True

# --------------------------------------------------------------------------
# AWS Glue Data Catalog (2022 archived API docs)
# --------------------------------------------------------------------------
GLUE_BATCH_CREATE_PARTITION_MAX = Limit(
    "Glue BatchCreatePartition partitions per request",
    100,
    "partitions",
    False,
    _GLUE_PARTITIONS_API,
    "PartitionInputList: not more than 100 structures.",
)
GLUE_GET_PARTITIONS_MAX_RESULTS = Limit(
    "Glue GetPartitions MaxResults (page size)",
    1000,
    "partitions",
    False,
    _GLUE_PARTITIONS_API,
    "Not less than 1 or more than 1000.",
)
GLUE_BATCH_GET_PARTITION_MAX = Limit(
    "Glue BatchGetPartition partitions per request",
    1000,
    "partitions",
    False,
    _GLUE_PARTITIONS_API,
    "",
)
GLUE_BATCH_DELETE_PARTITION_MAX = Limit(
    "Glue BatchDeletePartition partitions per request",
    25,
    "partitions",
    False,
    _GLUE_PARTITIONS_API,
    "",
)
