"""Processes that die with their parent: Linux's parent-death signal (prctl PR_SET_PDEATHSIG).

A task process, or the fork server that forks them, must not outlive the orchestrator that
started it: killed with `kill -9`, the orchestrator runs no clean-up, and an orphaned task
would go on writing into a lake that the next run is cleaning. The kernel sends SIGKILL to
the process when its parent ends. (The signal follows the parent *thread*: runners start
tasks from threads that outlive the tasks.) Elsewhere than Linux this does nothing.

`python -m adapters.local.parent_death PARENT_PID -- COMMAND...` sets the signal, then
becomes COMMAND (the signal survives exec): how a plain child process gets it.

A container is not a child of the orchestrator (the Docker engine starts it), so no signal can
reach it. `python -m adapters.local.parent_death --fifo PATH -- COMMAND...` runs COMMAND and
watches PATH, a FIFO bind-mounted from the host whose only writer is the orchestrator: when the
orchestrator ends, by any means, the kernel closes its end, the watch reads end-of-file, and
COMMAND is killed.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import subprocess
import sys
import threading

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
ORPHAN_EXIT_CODE = 137  # as if the signal had come: the parent is already gone
# The command could not even be started (no such program): this code, and this mark opening
# the line that says why.
START_FAILED_EXIT_CODE = 127
START_FAILED_MARK = "could not start: "


def die_with_parent(parent: int | None = None) -> bool:
    """Have the kernel SIGKILL this process when its parent ends; exit at once if the parent
    (`parent`, else the one this process has now) has ended already. False where the kernel
    offers no such signal."""
    expected = parent if parent is not None else os.getppid()
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return False
    if os.getppid() != expected:  # it died before the signal was armed
        os._exit(ORPHAN_EXIT_CODE)
    return True


def run_while_open(fifo: str, command: list[str]) -> int:
    """Run `command` until it ends (its exit code) or every writer of `fifo` is gone (then it is
    killed). The FIFO is opened without blocking: with no writer left it reads as ended at once."""
    try:
        child = subprocess.Popen(command)
    except OSError as exc:
        return _start_failed(command, exc)
    watch = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)

    def watch_writers() -> None:
        poller = select.poll()
        poller.register(watch, select.POLLIN | select.POLLHUP)
        while True:
            # Read first: with a writer there, nothing to read (EAGAIN); with none, end of file,
            # even if the orchestrator ended before this process opened the FIFO.
            try:
                if os.read(watch, 512) == b"":
                    child.kill()
                    return
            except BlockingIOError:
                pass
            poller.poll()

    threading.Thread(target=watch_writers, daemon=True).start()
    code = child.wait()
    return 128 - code if code < 0 else code  # killed by a signal: as a shell reports it


def _start_failed(command: list[str], exc: OSError) -> int:
    print(f"{START_FAILED_MARK}{command[0]}: {exc.strerror or exc}", file=sys.stderr, flush=True)
    return START_FAILED_EXIT_CODE


USAGE = "usage: python -m adapters.local.parent_death (PARENT_PID | --fifo PATH) -- COMMAND..."


def main(argv: list[str]) -> None:
    if len(argv) >= 4 and argv[0] == "--fifo" and argv[2] == "--":
        sys.exit(run_while_open(argv[1], argv[3:]))
    if len(argv) < 3 or argv[1] != "--" or not argv[0].isdigit():
        raise SystemExit(USAGE)
    die_with_parent(int(argv[0]))
    command = argv[2:]
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        os._exit(_start_failed(command, exc))


if __name__ == "__main__":
    main(sys.argv[1:])
