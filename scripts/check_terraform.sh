#!/usr/bin/env bash
# Static checks of terraform/ with checkov; exits non-zero on any failed check.
#
# checkov lives in its own virtual environment, not the project's: it pins old versions of
# boto3, packaging and python-dateutil, and its parser package (bc-python-hcl2) installs a
# module named `hcl2` that would overwrite python-hcl2, which tests/terraform uses.
# The environment is created on first use (PyPI), then reused.
#
#   TERRAFORM_DIR    directory to scan (default: terraform)
#   CHECKOV          path to a checkov executable to use instead
#   CHECKOV_VENV     where to create/find the environment (default: ~/.cache/batchml/checkov-<version>)
#   CHECKOV_PYTHON   interpreter for creating it (default: python3.11, else python3)
set -euo pipefail
cd "$(dirname "$0")/.."

checkov_version="3.3.30"

if [[ -z "${CHECKOV:-}" ]]; then
  venv="${CHECKOV_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/batchml/checkov-${checkov_version}}"
  if [[ ! -x "$venv/bin/checkov" ]]; then
    python="${CHECKOV_PYTHON:-$(command -v python3.11 || command -v python3)}"
    echo "check_terraform: installing checkov ${checkov_version} into $venv" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "checkov==${checkov_version}" >&2
  fi
  CHECKOV="$venv/bin/checkov"
fi

# BC_SKIP_MAPPING and --skip-download keep checkov offline (no platform calls, no policy download).
export BC_SKIP_MAPPING=TRUE
exec "$CHECKOV" -d "${TERRAFORM_DIR:-terraform}" --framework terraform --skip-download --compact --quiet "$@"
