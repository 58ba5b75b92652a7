#!/usr/bin/env bash
# What the test suite needs beyond the Python packages: the ASL validator (npm) and the
# LocalStack runtime for the state-machine parity tests. Idempotent and cached.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -f tools/asl/package.json ] && [ ! -d tools/asl/node_modules ]; then
  echo "test setup: installing asl-validator (npm)"
  npm ci --prefix tools/asl --silent --no-audit --no-fund
fi
if [ -x scripts/localstack.sh ]; then
  scripts/localstack.sh install
fi
