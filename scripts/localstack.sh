#!/usr/bin/env bash
# LocalStack's runtime on the host (no Docker): the Step Functions emulator for the parity tests.
#
#   scripts/localstack.sh install          idempotent; a Python 3.13 venv in ~/.cache/batchml/ (the runtime needs 3.13)
#   scripts/localstack.sh start PORT       background, bound to 127.0.0.1:PORT only; waits until healthy
#   scripts/localstack.sh stop             stops the instance this script started (by its pid file)
#   scripts/localstack.sh status           exit 0 when the pid file's process is alive
#
# start honours SFN_MOCK_CONFIG (mocked Lambda/ECS responses) and LS_STATE_DIR (pid, logs,
# LocalStack's data; default .ls-run/). LS_VENV moves the install; PYTHON313 names the interpreter.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LS_VERSION="2026.3.0"
# Installed once per machine in the user's cache, outside any checkout, so fresh clones (CI)
# reuse it; LS_VENV moves it.
VENV="${LS_VENV:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/batchml/localstack-$LS_VERSION}"
# Pins from shared/notes/aws-emulators.md: newer cbor2/pyopenssl/cryptography break this runtime.
PACKAGES=("localstack-core[runtime]==$LS_VERSION" "cbor2<6" "pyopenssl<24.3" "cryptography<44" service_identity)
MARKER="$VENV/.installed-$LS_VERSION"
STATE_DIR="${LS_STATE_DIR:-$ROOT/.ls-run}"
PID_FILE="$STATE_DIR/localstack.pid"

find_python313() {
  if [[ -n "${PYTHON313:-}" ]]; then echo "$PYTHON313"; return; fi
  if command -v python3.13 >/dev/null 2>&1 && python3.13 -c 'import sys' 2>/dev/null; then
    command -v python3.13; return
  fi
  # pyenv's shim may be missing from CI's PATH while the interpreter itself is installed.
  local candidate
  local pyenv_root="${PYENV_ROOT:-${HOME:-/root}/.pyenv}"
  for candidate in "$pyenv_root"/versions/3.13*/bin/python3.13 /usr/bin/python3.13 /usr/local/bin/python3.13; do
    if [[ -x "$candidate" ]]; then echo "$candidate"; return; fi
  done
  echo "localstack.sh: Python 3.13 not found (set PYTHON313=/path/to/python3.13)" >&2
  exit 1
}

install() {
  if [[ -f "$MARKER" && -x "$VENV/bin/python" ]]; then
    echo "localstack-core $LS_VERSION already installed in $VENV"
    return
  fi
  local started=$SECONDS
  if [[ -e "$VENV" && ! -f "$VENV/pyvenv.cfg" ]]; then
    echo "localstack.sh: $VENV exists and is not a virtual environment; refusing to replace it" >&2
    exit 1
  fi
  rm -rf "$VENV"  # a half-finished install (no marker) starts over
  "$(find_python313)" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "${PACKAGES[@]}"
  touch "$MARKER"
  echo "localstack-core $LS_VERSION installed in $VENV in $((SECONDS - started))s"
}

healthy() {
  "$VENV/bin/python" - "$1" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/_localstack/health", timeout=2).read()
PY
}

alive() {
  [[ -f "$PID_FILE" ]] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

start() {
  local port="${1:?usage: localstack.sh start PORT}"
  [[ -f "$MARKER" ]] || install
  if alive; then
    echo "localstack.sh: already running (pid $(cat "$PID_FILE")); stop it first" >&2
    exit 1
  fi
  mkdir -p "$STATE_DIR/fs" "$STATE_DIR/tmp"
  # hypercorn honours the host part of GATEWAY_LISTEN (the default gateway binds every
  # interface); DNS_ADDRESS=0 keeps LocalStack from opening a DNS server.
  env GATEWAY_SERVER=hypercorn GATEWAY_LISTEN="127.0.0.1:$port" DNS_ADDRESS=0 \
    DISABLE_EVENTS=1 SKIP_SSL_CERT_DOWNLOAD=1 \
    FILESYSTEM_ROOT="$STATE_DIR/fs" TMPDIR="$STATE_DIR/tmp" \
    SERVICES=s3,stepfunctions,logs,iam,sts \
    SFN_MOCK_CONFIG="${SFN_MOCK_CONFIG:-}" \
    setsid "$VENV/bin/python" -m localstack.runtime.main >"$STATE_DIR/localstack.log" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  local deadline=$((SECONDS + 60))
  until healthy "$port"; do
    if ! alive; then
      echo "localstack.sh: LocalStack exited during start; log:" >&2
      tail -n 40 "$STATE_DIR/localstack.log" >&2
      exit 1
    fi
    if ((SECONDS > deadline)); then
      echo "localstack.sh: not healthy after 60s; log: $STATE_DIR/localstack.log" >&2
      stop
      exit 1
    fi
    sleep 0.2
  done
  echo "LocalStack ready on 127.0.0.1:$port (pid $(cat "$PID_FILE"))"
}

stop() {
  if ! alive; then
    rm -f "$PID_FILE"
    return
  fi
  local pid
  pid="$(cat "$PID_FILE")"
  # setsid made the runtime a process-group leader: end the group it owns, nothing else.
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  rm -f "$PID_FILE"
}

case "${1:-}" in
  install) install ;;
  start) start "${2:-}" ;;
  stop) stop ;;
  status) alive ;;
  *)
    echo "usage: $0 install | start PORT | stop | status" >&2
    exit 2
    ;;
esac
