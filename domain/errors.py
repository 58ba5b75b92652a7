"""Errors the domain raises. Each message says what went wrong and where."""

from __future__ import annotations


class BatchmlError(Exception):
    """Base class: an error a user should see as one clear message, not a traceback."""


class SpecError(BatchmlError):
    """The pipeline spec is wrong: a bad key, value, identifier or missing file."""


class StageError(BatchmlError):
    """A stage failed. `stage` names it; `transient` says whether a retry may help."""

    def __init__(self, stage: str, message: str, *, transient: bool = False) -> None:
        super().__init__(f"[{stage}] {message}")
        self.stage = stage
        self.transient = transient


class DataQualityError(BatchmlError):
    """Input data broke a rule the spec set (too many rejects, too few labelled rows)."""


class SchemaMismatchError(BatchmlError):
    """A batch's features do not match the feature schema the model was trained on."""


class VerificationError(BatchmlError):
    """Aggregated results failed a completeness check; nothing was published."""


class QueryError(BatchmlError):
    """The SQL engine rejected or failed a query."""

    def __init__(self, message: str, *, sql_name: str = "", transient: bool = False) -> None:
        super().__init__(f"{sql_name}: {message}" if sql_name else message)
        self.sql_name = sql_name
        self.transient = transient


class TaskFailedError(BatchmlError):
    """A container task (training or a prediction batch) ended badly."""

    def __init__(self, task_id: str, reason: str, *, exit_code: int | None = None, transient: bool = True) -> None:
        super().__init__(f"task {task_id} failed: {reason}")
        self.task_id = task_id
        self.reason = reason
        self.exit_code = exit_code
        self.transient = transient


class RunLockedError(BatchmlError):
    """Another run holds the output root."""


class RunInterrupted(BatchmlError):
    """The user stopped the command (Ctrl-C): the message says what was left and how to go on."""


class StillRunning(BatchmlError):
    """A stage's work goes on outside this process (an Athena query still running when the
    invocation's wait budget ran out): call the stage again to continue where it is. Never an
    error to report: Step Functions waits and invokes the stage again (a continuation loop)."""
