"""Killing a process at chosen points: the way a lost machine or `kill -9` ends a run.

The work runs in a forked child whose chosen methods (a store's writes and deletes, a
catalog's switches, the os calls under them) are wrapped: the child SIGKILLs itself right
before the n-th wrapped call, or right after any call once a condition holds. Nothing runs
after the kill, no `finally`, no `except`: the parent then inspects what was left.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

Hook = tuple[Any, str]  # (object or module, method name)


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm(
    hooks: Sequence[Hook],
    *,
    kill_at: int | None = None,
    after: Callable[[], bool] | None = None,
    counter: list[int] | None = None,
) -> list[int]:
    """Wrap each hook: count calls (in the returned one-item list), die before call `kill_at`,
    or after a call once `after()` holds."""
    count = counter if counter is not None else [0]
    for owner, name in hooks:
        original = getattr(owner, name)

        def wrapped(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            count[0] += 1
            if count[0] == kill_at:
                _die()
            result = __original(*args, **kwargs)
            if after is not None and after():
                _die()
            return result

        setattr(owner, name, wrapped)
    return count


def run_in_child(work: Callable[[], None], timeout: float = 120.0) -> int | None:
    """Run `work` in a forked child; its exit code (-9 when it killed itself)."""
    context = multiprocessing.get_context("fork")
    process = context.Process(target=_child, args=(work,))
    process.start()
    process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()
        raise AssertionError(f"the child did not end within {timeout}s")
    return process.exitcode


def _child(work: Callable[[], None]) -> None:
    work()
    os._exit(0)  # no exit handlers inherited from pytest


def count_calls(hooks: Callable[[], Sequence[Hook]], work: Callable[[], None], out: Path) -> int:
    """How many wrapped calls `work` makes when nothing kills it (run in a child, like the
    real trials, so the parent's objects stay unwrapped)."""

    def counted() -> None:
        count = arm(hooks())
        work()
        out.write_text(str(count[0]))

    code = run_in_child(counted)
    assert code == 0, f"the dry run failed with exit code {code}"
    return int(out.read_text())


def kill_at(hooks: Callable[[], Sequence[Hook]], work: Callable[[], None], point: int) -> int | None:
    def killed() -> None:
        arm(hooks(), kill_at=point)
        work()

    return run_in_child(killed)


def kill_after(
    hooks: Callable[[], Sequence[Hook]], work: Callable[[], None], condition: Callable[[], bool]
) -> int | None:
    def killed() -> None:
        arm(hooks(), after=condition)
        work()

    return run_in_child(killed)
