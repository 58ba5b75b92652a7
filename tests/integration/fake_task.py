"""The contract tests' fake task as a function, for runners that call an entry point
(ForkServerTaskRunner); tests/integration/test_task_runner_contract.py has it as a script."""

from __future__ import annotations

import json
import os
import sys
import time

from domain.ports.task_runner import PERMANENT_EXIT_CODE


def main(argv: list[str]) -> int:
    role, run_id, rest = argv[0], argv[2], argv[3:]
    behaviour = run_id.split("-")[0]
    print("fake task", role, run_id, *rest, flush=True)
    if behaviour == "fails":
        print(
            "BATCHML_TASK_ERROR " + json.dumps({"error": "3 rows have no id", "type": "DataQualityError"}),
            file=sys.stderr,
        )
        return 1
    if behaviour == "permanent":
        print('BATCHML_TASK_ERROR {"error": "bad spec", "type": "SpecError"}', file=sys.stderr)
        return PERMANENT_EXIT_CODE
    if behaviour == "hangs":
        time.sleep(3600)
    if behaviour == "blas":
        import numpy  # noqa: F401  (loads OpenBLAS, if the server had not)
        from threadpoolctl import threadpool_info

        counts = [str(pool["num_threads"]) for pool in threadpool_info() if pool["internal_api"] == "openblas"]
        with open(os.environ["FAKE_TASK_OUTPUT"], "w") as handle:
            handle.write(" ".join(counts))
    if behaviour == "writes":
        names = ["FROM_RUNNER", "FROM_ROLE", "FROM_TASK", "LAYERED"]
        with open(os.environ["FAKE_TASK_OUTPUT"], "w") as handle:
            handle.write(" ".join([role, *rest, *(os.environ.get(name, "-") for name in names)]))
    return 0
