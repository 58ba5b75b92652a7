"""The Lambda handlers and the compiled state machine agree on which errors are retried."""

from __future__ import annotations

from adapters.aws import state_machine
from entrypoints import lambda_handlers


def test_the_state_machine_retries_exactly_the_errors_the_handlers_call_retryable() -> None:
    assert set(lambda_handlers.RETRYABLE_ERRORS) == set(state_machine.FUNCTION_RETRYABLE_ERRORS)
    assert lambda_handlers.TransientError.__name__ == state_machine.TRANSIENT_ERROR
    assert lambda_handlers.PermanentError.__name__ not in state_machine.FUNCTION_RETRYABLE_ERRORS
