"""How Athena says no: API errors raised by the call itself, and query failures reported later
by GetQueryExecution (State, StateChangeReason, AthenaError).

Where a reason below is quoted, it is Athena's own text from the page cited next to it. The
ErrorType numbers are entries of Athena's error catalog
(https://docs.aws.amazon.com/athena/latest/ug/error-reference.html); the catalog lists what each
number means, not which number each failure gets, so the number is the entry that names the
failure (except the timeout: 206, as Athena reports it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.errorfactory import ClientExceptionsFactory
from botocore.exceptions import ClientError

SYSTEM, USER = 1, 2  # ErrorCategory values, per the error catalog

# The exception classes a real boto3 Athena client raises, so `client.exceptions.X` works.
ATHENA_EXCEPTIONS = ClientExceptionsFactory().create_client_exceptions(
    botocore.session.get_session().get_service_model("athena")
)


def api_error(code: str, message: str, operation: str, **extra: str) -> ClientError:
    """The ClientError a boto3 call raises for an Athena error response (code and fields)."""
    response: Any = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}
    response.update(extra)
    cls = getattr(ATHENA_EXCEPTIONS, code, ClientError)
    error: ClientError = cls(response, operation)
    return error


def invalid_request(message: str, operation: str) -> ClientError:
    return api_error("InvalidRequestException", message, operation, AthenaErrorCode="INVALID_INPUT")


class NotEmulated(NotImplementedError):
    """Something Athena does that the emulator does not: the test fails loudly, never passes."""


@dataclass
class AthenaFailure(Exception):
    """A query that ended FAILED or CANCELLED, with what GetQueryExecution reports about it."""

    reason: str
    error_type: int
    category: int = USER
    retryable: bool = False
    state: str = "FAILED"
    scanned: int | None = None  # bytes scanned when it ended, if known

    def __str__(self) -> str:
        return f"{self.state}: {self.reason}"

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = {"State": self.state, "StateChangeReason": self.reason}
        if self.state == "FAILED":
            status["AthenaError"] = {
                "ErrorCategory": self.category,
                "ErrorType": self.error_type,
                "Retryable": self.retryable,
                "ErrorMessage": self.reason,
            }
        return status


# -- the failures, by the limit or rule they enforce ----------------------------------------------


def enforced_external_location() -> AthenaFailure:
    # https://docs.aws.amazon.com/athena/latest/ug/workgroups-troubleshooting.html (Workgroup errors)
    return AthenaFailure(
        "The Create Table As Select query failed because it was submitted with an 'external_location' "
        "property to an Athena Workgroup that enforces a centralized output location for all queries. "
        "Please remove the 'external_location' property and resubmit the query.",
        error_type=1103,  # "Invalid table property provided"
    )


def too_many_partitions() -> AthenaFailure:
    # https://docs.aws.amazon.com/athena/latest/ug/troubleshooting-athena.html (HIVE_TOO_MANY_OPEN_PARTITIONS)
    return AthenaFailure(
        "HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of 100 open writers for partitions/buckets",
        error_type=1000,  # "User error"
    )


def path_already_exists(table: str, location: str) -> AthenaFailure:
    # https://repost.aws/knowledge-center/athena-hive-path-already-exists: "HIVE_PATH_ALREADY_EXISTS:
    # Target directory for table"; the rest is Trino's message (HiveMetadata) naming table and path.
    return AthenaFailure(
        f"HIVE_PATH_ALREADY_EXISTS: Target directory for table '{table}' already exists: {location}",
        error_type=1000,
    )


def bytes_scanned_limit(cutoff: int) -> AthenaFailure:
    # https://docs.aws.amazon.com/athena/latest/ug/workgroups-troubleshooting.html: "query state
    # CANCELED. Bytes scanned limit was exceeded." Athena reports CANCELLED with this reason and
    # the cutoff as the bytes scanned (observed responses), and no AthenaError.
    return AthenaFailure("Bytes scanned limit was exceeded", error_type=0, state="CANCELLED", scanned=cutoff)


def query_timeout() -> AthenaFailure:
    # DML query timeout (https://docs.aws.amazon.com/athena/latest/ug/service-limits.html); Athena
    # answers FAILED, reason "Query timeout", ErrorCategory 1, ErrorType 206 ("Query timed out").
    return AthenaFailure("Query timeout", error_type=206, category=SYSTEM)


def table_not_found(name: str) -> AthenaFailure:
    return AthenaFailure(f"TABLE_NOT_FOUND: Table '{name}' does not exist", error_type=1110)


def schema_not_found(name: str) -> AthenaFailure:
    return AthenaFailure(f"SCHEMA_NOT_FOUND: Schema '{name}' does not exist", error_type=1301)


def syntax_error(message: str) -> AthenaFailure:
    # The text after the code is sqlglot's (the emulator parses with it), not Trino's parser's.
    return AthenaFailure(f"SYNTAX_ERROR: {message}", error_type=1006)


def not_supported(message: str) -> AthenaFailure:
    return AthenaFailure(f"NOT_SUPPORTED: {message}", error_type=1200)


def user_error(code: str, message: str, error_type: int = 1000) -> AthenaFailure:
    return AthenaFailure(f"{code}: {message}", error_type=error_type)
