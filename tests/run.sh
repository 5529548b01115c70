#!/usr/bin/env bash
# The whole test run, as `make test` and CI do it:
#   1. lint (ruff check + ruff format --check);
#   2. a throwaway PostgreSQL (tests/postgres.sh), unless TEST_DATABASE_URL is set;
#   3. a throwaway Redis on a free port, unless TEST_REDIS_URL is set;
#   4. pytest with the arguments given to this script.
# Everything started here is stopped by the EXIT trap, whatever the outcome.
# The exit status is pytest's; "no tests collected" (5) counts as a failure.
#
# Usage: tests/run.sh [PYTEST_ARGS...]    (BIN defaults to .venv/bin)
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}

log() { printf 'run.sh: %s\n' "$*" >&2; }

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

log "lint"
"$BIN/ruff" check .
"$BIN/ruff" format --check .

pg_dir=""
redis_pid=""
pytest_pid=""
cleanup() {
    local status=$?
    if [[ -n $pytest_pid ]]; then
        kill "$pytest_pid" 2>/dev/null || true
        wait "$pytest_pid" 2>/dev/null || true
    fi
    if [[ -n $redis_pid ]]; then
        kill "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
    fi
    if [[ -n $pg_dir ]]; then
        tests/postgres.sh stop "$pg_dir" || true
    fi
    exit "$status"
}
trap cleanup EXIT
# Turn Ctrl-C / termination into a normal exit so the EXIT trap cleans up.
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ -n ${TEST_DATABASE_URL:-} ]]; then
    log "using TEST_DATABASE_URL from the environment"
else
    pg_dir=$(mktemp -d /tmp/torget-pg.XXXXXX)
    TEST_DATABASE_URL=$(tests/postgres.sh start "$pg_dir")
fi
export TEST_DATABASE_URL

if [[ -n ${TEST_REDIS_URL:-} ]]; then
    log "using TEST_REDIS_URL from the environment"
else
    redis_port=$(free_port)
    # No persistence: the data is thrown away with the process.
    redis-server --port "$redis_port" --save '' --appendonly no --bind 127.0.0.1 \
        --daemonize no >/dev/null &
    redis_pid=$!
    # Wait (up to 10 s) until it accepts connections, or fail if it died.
    for _ in $(seq 100); do
        if ! kill -0 "$redis_pid" 2>/dev/null; then
            redis_pid=""
            log "redis-server exited during startup"
            exit 1
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    (exec 3<>"/dev/tcp/127.0.0.1/$redis_port") 2>/dev/null || {
        log "redis-server did not start listening on port $redis_port"
        exit 1
    }
    log "redis on 127.0.0.1:$redis_port"
    TEST_REDIS_URL=redis://127.0.0.1:$redis_port/0
fi
export TEST_REDIS_URL

# pytest runs as a child we wait for, so a TERM/INT sent to this script runs
# the trap at once instead of after pytest finishes. `<&0` keeps stdin (bash
# would give a background command /dev/null), so `--pdb` still works.
status=0
"$BIN/pytest" "$@" <&0 &
pytest_pid=$!
wait "$pytest_pid" || status=$?
pytest_pid=""
if [[ $status -eq 5 ]]; then
    log "pytest collected no tests: treating that as a failure"
fi
exit "$status"
