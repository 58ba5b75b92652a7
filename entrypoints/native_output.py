"""Quieting what native libraries print to file descriptor 2 while a check runs.

LightGBM writes "[LightGBM] [Fatal] <reason>" straight to the process's stderr before it
raises the same reason as an exception; a command that turns that exception into its own
one-line error would otherwise print the reason twice, once with a C++ source path.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Descriptor 2 points at the null device inside the block (Python's own writes to
    sys.stderr are flushed first, and go nowhere too). For single-threaded command code."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
