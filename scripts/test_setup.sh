#!/usr/bin/env bash
# What the test suite needs beyond the Python packages: the ASL validator (npm) and the
# LocalStack runtime for the state-machine parity tests, and Chromium for the report's browser test.
# Idempotent and cached.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f tools/asl/package.json ] && [ ! -d tools/asl/node_modules ]; then
  echo "test setup: installing asl-validator (npm)"
  npm ci --prefix tools/asl --silent --no-audit --no-fund
fi
if [ -x scripts/localstack.sh ]; then
  scripts/localstack.sh install
fi
# Headless Chromium (Debian's package) for the run report's browser test; CI runs as root.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test setup: installing chromium (apt-get)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "test setup: chromium not found and cannot install it here; the browser test will be skipped" >&2
  fi
fi
