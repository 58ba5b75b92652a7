"""Whether `--resume` can continue a run, and what to say when it cannot.

A resume re-runs the failed stage on the same spec, SQL and source (a changed one is refused).
An error a retry could not fix either (bad SQL, bad data, a failed check: the orchestrator
records it as not retryable) would only fail again, and fixing its cause changes what the
resume checks: such a failure is fixed, then run anew.
"""

from __future__ import annotations

from domain.run_state import RunState


def can_resume(state: RunState) -> bool:
    if state.status == "RUNNING":
        return True  # killed, or still going elsewhere (the lock says which)
    if state.status != "FAILED":
        return False
    if state.failure is not None and state.failure.data_removed:
        return False  # its intermediate data was removed to free a full disk
    return state.failure is None or state.failure.retryable is not False


def next_step(state: RunState, resume_command: str, rerun_command: str) -> str:
    """The summary's last advice for a failed run."""
    if state.failure is not None and state.failure.data_removed:
        return (
            "Next:    the disk was full: the run's intermediate data was removed. Free some space, then start a "
            f"new run: {rerun_command}"
        )
    if can_resume(state):
        return f"Resume:  {resume_command}"
    return (
        f"Next:    fix the cause above, then start a new run: {rerun_command} "
        "(a resume would fail the same way, and refuses a changed spec, SQL file or source)"
    )
