#!/usr/bin/env bash
# Create (or update) the project's virtual environment in .venv with everything the demo
# and the tests need. Idempotent: a second run only checks. Needs Python >= 3.11.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      PYTHON=$candidate; break
    fi
  done
fi
[ -n "$PYTHON" ] || { echo "setup: Python >= 3.11 is required" >&2; exit 1; }

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.batchml-installed
extras=${BATCHML_EXTRAS:-dev}
hash=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
have=$(cat "$stamp" 2>/dev/null || true)
# The dev extra holds everything core does: `make demo` after `make test` installs nothing.
if [ "$have" = "$hash $extras" ] || { [ "$extras" = core ] && [ "$have" = "$hash dev" ]; }; then
  exit 0
fi
if [ -z "$have" ]; then
  echo "setup: installing batchml[$extras] into .venv (first time: a few minutes)"
else
  echo "setup: updating .venv for batchml[$extras] (pyproject.toml, constraints.txt or the extras changed)"
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# constraints.txt: the versions the tests last passed with (see its header).
.venv/bin/python -m pip install --quiet -c constraints.txt -e ".[$extras]"
echo "$hash $extras" > "$stamp"
