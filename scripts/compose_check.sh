#!/usr/bin/env bash
# CI's check of issue #5: `docker compose up` runs the whole pipeline offline and publishes a
# complete table. Validates the compose file, builds the image, runs the demo, then checks the
# results folder: the catalog exists and the published table holds every staged id exactly once.
#
# Usage: scripts/compose_check.sh
#   DEMO_ROWS         rows the demo generates (default 50000)
#   BATCHML_DEMO_DIR  host folder for data, results and run logs (default ./demo-output; kept)
#   COMPOSE           "docker-compose" (v1) or "docker compose" (v2); default: whichever exists
#   BATCHML_UID/GID   who the container runs as (default: you; as root, the image's uid 10001)
# Exit 0 = every check passed.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "compose_check: FAIL: $*" >&2; exit 1; }
step() { printf '\n== compose_check: %s (at %ss)\n' "$*" "$SECONDS"; }

if [ -z "${COMPOSE:-}" ]; then
  if command -v docker-compose >/dev/null 2>&1; then COMPOSE=docker-compose
  elif docker compose version >/dev/null 2>&1; then COMPOSE="docker compose"
  else fail "neither docker-compose nor 'docker compose' is installed"; fi
fi
read -r -a compose <<<"$COMPOSE"

export DEMO_ROWS=${DEMO_ROWS:-50000}
# A project name of its own: the check's `down` never removes a demo you started by hand here.
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-batchml-compose-check}
mkdir -p "${BATCHML_DEMO_DIR:-./demo-output}"
# Absolute, so compose and the messages below mean the same folder wherever it was given from.
BATCHML_DEMO_DIR=$(cd "${BATCHML_DEMO_DIR:-./demo-output}" && pwd)
export BATCHML_DEMO_DIR
if [ "$(id -u)" = 0 ]; then
  # As root (CI): run as the image's own non-root user, as Fargate does, so that is what's tested.
  export BATCHML_UID=${BATCHML_UID:-10001} BATCHML_GID=${BATCHML_GID:-10001}
  chown -R "$BATCHML_UID:$BATCHML_GID" "$BATCHML_DEMO_DIR"
else
  # As a user: the container writes as you, so you own (and can delete) everything it writes.
  export BATCHML_UID=${BATCHML_UID:-$(id -u)} BATCHML_GID=${BATCHML_GID:-$(id -g)}
fi
lake=$BATCHML_DEMO_DIR/lake
trap '"${compose[@]}" down --remove-orphans >/dev/null 2>&1 || true' EXIT

step "compose file is valid ($COMPOSE)"
"${compose[@]}" config -q

step "build the image"
"${compose[@]}" build

step "run the demo: $DEMO_ROWS rows into $BATCHML_DEMO_DIR"
# --exit-code-from: without it Compose v1's `up` exits 0 even when the demo failed.
set +e
"${compose[@]}" up --exit-code-from demo
code=$?
set -e
[ "$code" -eq 0 ] || fail "the demo exited with $code; its run log: $lake/runs/*/events.jsonl"

step "verify the results"
[ -f "$lake/catalog.duckdb" ] || fail "no catalog at $lake/catalog.duckdb"
# Read with the image's own tools, so the check needs nothing on the host but Docker.
in_image() { "${compose[@]}" run --rm -T demo "$@"; }
# The newest run is the one `up` just made (older runs in a reused folder are skipped).
state=$(in_image python -c '
import json, pathlib
runs = [json.loads(p.read_text()) for p in pathlib.Path("/work/demo-output/lake/runs").glob("*/run.json")]
run = max(runs, key=lambda r: r["started_at"])
print(run["run_id"], run["status"], run["stages"]["staging"]["report"]["staged_rows"])
') || fail "cannot read the run state under $lake/runs"
read -r run_id status staged <<<"$state"
[[ "$staged" =~ ^[1-9][0-9]*$ ]] || fail "run state says $staged staged rows: $state"
[ "$status" = SUCCEEDED ] || fail "run $run_id has status $status"
query="SELECT count(*) AS published_rows, count(DISTINCT id) AS distinct_ids FROM age_predictions"
# `batchml query` prints a table: its only digits are the two counts (the headers have none).
counts=$(in_image batchml query "$query" --root /work/demo-output/lake | tr -cs '0-9' ' ') \
  || fail "cannot query age_predictions"
read -r rows ids <<<"$counts"
echo "run $run_id: staged $staged ids; age_predictions holds $rows rows, $ids distinct ids"
if [ "$rows" != "$staged" ] || [ "$ids" != "$staged" ]; then
  fail "age_predictions must hold every staged id exactly once: $staged staged, $rows rows, $ids distinct"
fi

step "clean up containers"
"${compose[@]}" down --remove-orphans
trap - EXIT
echo "compose_check: OK in ${SECONDS}s (results kept in $BATCHML_DEMO_DIR)"
