"""Test-wide settings.

OpenMP (scikit-learn's gradient boosting) spins its threads while waiting; on a shared
2-core machine that turns a one-second fit into thirty. Tests fit small models, so one
thread each.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
