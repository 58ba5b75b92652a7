"""The Lambda handlers and the compiled state machine agree on which errors are retried."""

from __future__ import annotations

from adapters.aws import asl_states, limits
from entrypoints import lambda_handlers


def test_the_state_machine_retries_the_handlers_transient_error_and_never_the_permanent_one() -> None:
    assert lambda_handlers.TransientError.__name__ == asl_states.TRANSIENT_ERROR
    assert asl_states.TRANSIENT_ERROR in asl_states.FUNCTION_RETRYABLE_ERRORS
    assert lambda_handlers.PermanentError.__name__ not in asl_states.FUNCTION_RETRYABLE_ERRORS


def test_the_lambda_retrier_holds_every_error_aws_recommends_and_no_timeout() -> None:
    """https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html; the
    list lacked Lambda.ClientExecutionTimeoutException before (issue 13, finding 7)."""
    assert set(limits.LAMBDA_RETRYABLE_ERRORS) <= set(asl_states.FUNCTION_RETRYABLE_ERRORS)
    assert "Lambda.ClientExecutionTimeoutException" in asl_states.FUNCTION_RETRYABLE_ERRORS
    # A timed-out or out-of-memory Lambda (Lambda.Unknown) would only do it again; a state's own
    # timeout leaves the Lambda running, and a retry would run beside it.
    assert not {"Lambda.Unknown", "States.Timeout", "States.ALL"} & set(asl_states.FUNCTION_RETRYABLE_ERRORS)
