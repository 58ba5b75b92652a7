"""The fake task as a program (`python -m tests.integration.fake_task_script ROLE --run-id RUN`),
for runners that start a command."""

from __future__ import annotations

import sys

from tests.integration.fake_task import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
