"""The Amazon States Language patterns the compiler assembles the state machine from.

Three patterns carry AWS's limits into the machine's shape:
- a Lambda stage with a continuation loop: the Lambda waits for its Athena queries briefly,
  returns RUNNING, and the machine Waits and invokes it again, so no invocation comes near
  Lambda's 900 s whatever a query takes;
- a container task with a retry loop in the machine itself: Step Functions' Retry cannot see an
  ECS task's exit code (a non-zero exit is States.TaskFailed), so a task failure goes through
  states that read the exit code from the error's cause and give up at once on the permanent
  one, as the local orchestrator does; ECS's own throttling and capacity errors keep a native
  Retry with a backoff suited to RunTask's rates;
- a fan-out: a Map read from a list in S3 (never held in the state), inline up to the inline
  Map's 40 concurrent iterations, Distributed above, skipped when the list is empty.
"""

from __future__ import annotations

import math
from typing import Any

from adapters.aws.limits import LAMBDA_RETRYABLE_ERRORS, LAMBDA_TIMEOUT_SECONDS, SFN_INLINE_MAP_MAX_CONCURRENCY
from domain.errors import SpecError
from domain.ports.task_runner import PERMANENT_EXIT_CODE
from domain.spec import RetrySpec

# Errors a retry can fix. The Lambda handlers raise TRANSIENT_ERROR (by exception class name,
# which Step Functions reports as the error name) for failures the domain calls transient.
TRANSIENT_ERROR = "TransientError"
# AWS's recommended retrier for lambda:invoke (limits.LAMBDA_RETRYABLE_ERRORS), plus Lambda's
# throttling (the account's concurrency is shared with the ingest fan-out) and our own transient
# failures. No Lambda.Unknown (a timeout or out of memory: a retry would only do it again) and no
# States.Timeout (a timed-out Lambda keeps running: a retry would run beside it).
FUNCTION_RETRYABLE_ERRORS = (*LAMBDA_RETRYABLE_ERRORS, "Lambda.TooManyRequestsException", TRANSIENT_ERROR)
# RunTask refused or throttled, or no Fargate capacity: the task never ran, so this retry
# does not count against the stage's attempts. RunTask is throttled at 20 calls a second
# (Fargate) and launches at 20 tasks a second after a burst of 100 (limits.py): a first wait
# of 5 s, doubling to a minute, with full jitter, spreads hundreds of map items out.
ECS_START_ERRORS = ("ECS.AmazonECSException", "AmazonECS.Unknown", "ECS.ThrottlingException")
ECS_START_RETRY: dict[str, Any] = {
    "ErrorEquals": list(ECS_START_ERRORS),
    "IntervalSeconds": 5,
    "BackoffRate": 2.0,
    "MaxDelaySeconds": 60,
    "JitterStrategy": "FULL",
    "MaxAttempts": 8,
}
S3_RETRYABLE_ERRORS = ("S3.SdkClientException", "S3.S3Exception")
POLL_WAIT_SECONDS = 20  # between invocations of a Lambda stage whose queries still run
LAMBDA_STATE_TIMEOUT = int(LAMBDA_TIMEOUT_SECONDS.value)
INLINE_LIMIT = int(SFN_INLINE_MAP_MAX_CONCURRENCY.value)

# Suffixes of the helper states; a state's stage is the longest stage name it starts with.
NEXT, WAIT = "_next", "_wait"
ROUTE, ITEMS, INLINE, DISTRIBUTED = "_route", "_items", "_inline", "_distributed"
START, CHECK, EXIT_CODE, PERMANENT, ATTEMPTS, BACKOFF, RETRY_WAIT, GIVE_UP = (
    "_start",
    "_check",
    "_exit_code",
    "_permanent",
    "_attempts",
    "_backoff",
    "_retry_wait",
    "_give_up",
)
FAILED = "_failed"


def asl_max_attempts(policy: RetrySpec) -> int:
    """The spec counts attempts in total; ASL's MaxAttempts counts retries after the first."""
    return policy.max_attempts - 1


def whole_seconds(stage: str, field: str, value: float) -> int:
    # Step Functions accepts only positive whole seconds; rounding would make AWS retry on a
    # different schedule from the local orchestrator, so refuse instead.
    if value < 1 or value != int(value):
        raise SpecError(f"[retry.{stage}] {field} = {value}: Step Functions needs a whole number of seconds >= 1")
    return int(value)


def retrier(stage: str, policy: RetrySpec, errors: tuple[str, ...]) -> dict[str, Any]:
    return {
        "ErrorEquals": list(errors),
        "IntervalSeconds": whole_seconds(stage, "interval_seconds", policy.interval_seconds),
        "BackoffRate": policy.backoff_rate,
        "MaxDelaySeconds": whole_seconds(stage, "max_delay_seconds", policy.max_delay_seconds),
        "JitterStrategy": policy.jitter.upper(),
        "MaxAttempts": asl_max_attempts(policy),
    }


def catch_to(target: str) -> list[dict[str, Any]]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": target}]


# -- a Lambda stage with its continuation loop ------------------------------------------------------
# Every stage Lambda returns these four fields (entrypoints/lambda_handlers.py), so one
# ResultSelector fits all: the status drives the loop, the rest names a fan-out's list.
STEP_FIELDS = ("status", "count", "items_key", "bucket")


def lambda_stage(
    name: str,
    *,
    function: str,
    payload: dict[str, Any],
    policy: RetrySpec,
    comment: str,
    failed: str,
    done: str,
    also: dict[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """`name` invokes the function; `name_next` routes on the status it returned: RUNNING waits
    and invokes again, another status in `also` goes where `also` says, anything else is `done`.
    The result lands at `$.<name>`, where later states (a fan-out) read it."""
    choices = [{"Variable": f"$.{name}.status", "StringEquals": "RUNNING", "Next": name + WAIT}]
    choices += [{"Variable": f"$.{name}.status", "StringEquals": s, "Next": t} for s, t in (also or {}).items()]
    return {
        name: {
            "Type": "Task",
            "Comment": comment,
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": f"${{{function}}}", **payload},
            "ResultSelector": {f"{field}.$": f"$.Payload.{field}" for field in STEP_FIELDS},
            "ResultPath": f"$.{name}",
            # Each invocation returns within its wait budget; the stage's own timeout spans the
            # loop and is kept by the handler (it stops the stage's queries when it passes).
            "TimeoutSeconds": LAMBDA_STATE_TIMEOUT,
            "Retry": [retrier(name, policy, FUNCTION_RETRYABLE_ERRORS)],
            "Catch": catch_to(failed),
            "Next": name + NEXT,
        },
        name + NEXT: {"Type": "Choice", "Choices": choices, "Default": done},
        name + WAIT: {"Type": "Wait", "Seconds": POLL_WAIT_SECONDS, "Next": name},
    }


# -- a container task with its retry loop -------------------------------------------------------
def _backoff_seconds(stage: str, policy: RetrySpec) -> list[int]:
    """Seconds before retry n (n = 1..max_attempts-1), Step Functions' formula, whole seconds."""
    interval = whole_seconds(stage, "interval_seconds", policy.interval_seconds)
    cap = whole_seconds(stage, "max_delay_seconds", policy.max_delay_seconds)
    return [min(math.ceil(interval * policy.backoff_rate ** (n - 1)), cap) for n in range(1, policy.max_attempts)]


def delay_expression(stage: str, policy: RetrySpec) -> str:
    """The wait before the next attempt, for `$.retry.attempt` attempts made: the spec's backoff,
    and with full jitter a draw in [0, backoff] (States.MathRandom's end is exclusive)."""
    delays = _backoff_seconds(stage, policy)
    if policy.jitter == "full":
        table = ", ".join(str(d + 1) for d in [0, *delays])
        return f"States.MathRandom(0, States.ArrayGetItem(States.Array({table}), $.retry.attempt))"
    table = ", ".join(str(d) for d in [0, *delays])
    return f"States.ArrayGetItem(States.Array({table}), $.retry.attempt)"


def task_with_retries(
    name: str, task: dict[str, Any], *, stage: str, policy: RetrySpec, timeout: int, done: str, give_up: str
) -> dict[str, dict[str, Any]]:
    """`name` runs the task; a failure goes to `name_check`, which reads the exit code from the
    cause (an ECS task's description as JSON) when there is one; the permanent exit code, or
    the last attempt, goes to `give_up`; anything else waits the spec's backoff and runs again.
    `$.retry.attempt` counts attempts: the caller starts it at 1."""
    exit_code = "$.error.exit.task.Containers[0].ExitCode"
    return {
        name: {
            **task,
            "TimeoutSeconds": timeout,
            "Retry": [ECS_START_RETRY],
            "Catch": catch_to(name + CHECK),
            "Next": done,
        },
        name + CHECK: {
            "Type": "Choice",
            "Comment": "a stopped task's cause is its description (JSON): read its exit code",
            "Choices": [
                {
                    "And": [
                        {"Variable": "$.error.Cause", "IsPresent": True},
                        {"Variable": "$.error.Cause", "IsString": True},
                        {"Variable": "$.error.Cause", "StringMatches": "{*"},
                    ],
                    "Next": name + EXIT_CODE,
                }
            ],
            "Default": name + ATTEMPTS,
        },
        name + EXIT_CODE: {
            "Type": "Pass",
            "Parameters": {"task.$": "States.StringToJson($.error.Cause)"},
            "ResultPath": "$.error.exit",
            "Next": name + PERMANENT,
        },
        name + PERMANENT: {
            "Type": "Choice",
            "Comment": f"exit code {PERMANENT_EXIT_CODE}: the task found an error no retry fixes",
            "Choices": [
                {
                    "And": [
                        {"Variable": exit_code, "IsPresent": True},
                        {"Variable": exit_code, "NumericEquals": PERMANENT_EXIT_CODE},
                    ],
                    "Next": give_up,
                }
            ],
            "Default": name + ATTEMPTS,
        },
        name + ATTEMPTS: {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.retry.attempt", "NumericGreaterThanEquals": policy.max_attempts, "Next": give_up}
            ],
            "Default": name + BACKOFF,
        },
        name + BACKOFF: {
            "Type": "Pass",
            "Parameters": {
                "attempt.$": "States.MathAdd($.retry.attempt, 1)",
                "delay.$": delay_expression(stage, policy),
            },
            "ResultPath": "$.retry",
            "Next": name + RETRY_WAIT,
        },
        name + RETRY_WAIT: {"Type": "Wait", "SecondsPath": "$.retry.delay", "Next": name},
    }


# -- a fan-out over a list in S3 -------------------------------------------------------------------
def fan_out(
    prefix: str,
    *,
    plan: str,
    item: str,
    processor: dict[str, Any],
    max_concurrency: int,
    comment: str,
    failed: str,
    done: str,
    label: str,
    results_prefix: str,
    read_policy: RetrySpec,
) -> dict[str, dict[str, Any]]:
    """A Map over the JSON list at `$.<plan>.bucket`/`items_key` (`count` items of the form
    {"<item>": n}); `processor(mode)` gives the item processor's states for "INLINE" or
    "DISTRIBUTED". Items carry the run, their number and a first attempt."""
    plan_object = {"Bucket.$": f"$.{plan}.bucket", "Key.$": f"$.{plan}.items_key"}
    common: dict[str, Any] = {
        "Type": "Map",
        "Comment": comment,
        "MaxConcurrency": max_concurrency,
        "ItemSelector": {
            "run_id.$": "$.run_id",
            "spec_uri.$": "$.spec_uri",
            f"{item}.$": f"$$.Map.Item.Value.{item}",
            "retry": {"attempt": 1},
        },
        "ResultPath": None,
        "Catch": catch_to(failed),
        "Next": done,
    }
    distributed = {
        **common,
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": plan_object,
        },
        "ItemProcessor": processor["DISTRIBUTED"],
        "Label": label,
        # A float on purpose: AWS takes any number 0-100, LocalStack's parser only a decimal literal.
        "ToleratedFailurePercentage": 0.0,
        # Item results go to S3, not into the state: thousands of them would break the 256 KiB
        # state limit. The prefix reads the execution's input through the context object, which
        # means the same on AWS and in LocalStack.
        "ResultWriter": {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {
                "Bucket": "${data_bucket}",
                "Prefix.$": f"States.Format('runs/{{}}/{results_prefix}', $$.Execution.Input.run_id)",
            },
        },
    }
    items = {
        "Type": "Task",
        "Comment": f"read the list for the inline map (at most {INLINE_LIMIT} items)",
        "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
        "Parameters": plan_object,
        "ResultSelector": {"items.$": "States.StringToJson($.Body)"},
        "ResultPath": f"$.{prefix}_list",
        "TimeoutSeconds": 60,
        "Retry": [retrier(prefix, read_policy, S3_RETRYABLE_ERRORS)],
        "Catch": catch_to(failed),
        "Next": prefix + INLINE,
    }
    inline = {**common, "ItemsPath": f"$.{prefix}_list.items", "ItemProcessor": processor["INLINE"]}
    route = {
        "Type": "Choice",
        "Comment": f"nothing to do: skip; above {INLINE_LIMIT} items a Distributed Map, else an inline one",
        "Choices": [
            {"Variable": f"$.{plan}.count", "NumericEquals": 0, "Next": done},
            {"Variable": f"$.{plan}.count", "NumericGreaterThan": INLINE_LIMIT, "Next": prefix + DISTRIBUTED},
        ],
        "Default": prefix + ITEMS,
    }
    return {
        prefix + ROUTE: route,
        prefix + DISTRIBUTED: distributed,
        prefix + ITEMS: items,
        prefix + INLINE: inline,
    }
