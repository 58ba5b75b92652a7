"""The models use the threads the task runner gives a task, not every core they find.

A prediction task runs with OMP_NUM_THREADS=1 (two tasks share two cores); the fork server's
children set the same limit with threadpoolctl, since OpenMP was loaded before they forked.
LightGBM's own default ignores both and starts a thread per physical core.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

# Fit and predict in a fresh interpreter, counting the process's threads before and after.
_CHILD = """
import json, os, sys
import numpy as np
from threadpoolctl import threadpool_limits
from domain.ml.training import fit
from domain.spec import ModelSection
from tests.unit.ml_data import regression_table

def threads():
    return len(os.listdir("/proc/self/task"))

limit = threadpool_limits(1) if sys.argv[1] == "threadpoolctl" else None
table = regression_table(3000)
before = threads()
model, _ = fit(table, "id", ModelSection(label="label"))
model.predict(table)
print(json.dumps({"before": before, "after": threads()}))
"""


@pytest.mark.skipif(not os.path.isdir("/proc/self/task") or (os.cpu_count() or 1) < 2, reason="needs Linux, 2+ cores")
@pytest.mark.parametrize("limit", ["environment", "threadpoolctl"])
def test_a_one_thread_task_fits_and_predicts_on_one_thread(limit: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_", "OPENBLAS_"))}
    env["OPENBLAS_NUM_THREADS"] = "1"  # NumPy's pool is the fork server's business, not this test's
    if limit == "environment":
        env["OMP_NUM_THREADS"] = "1"
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, limit], env=env, capture_output=True, text=True, check=True, timeout=120
    )
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts["after"] == counts["before"], counts
