"""What the numbers were measured on: they mean little without it."""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import duckdb
import numpy
import pandas
import psutil
import pyarrow
import sklearn


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "memory_bytes": psutil.virtual_memory().total,
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "versions": {
            "python": platform.python_version(),
            "duckdb": duckdb.__version__,
            "scikit-learn": sklearn.__version__,
            "pyarrow": pyarrow.__version__,
            "numpy": numpy.__version__,
            "pandas": pandas.__version__,
        },
    }
