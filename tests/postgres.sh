#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite.
#
#   tests/postgres.sh start DIR   initdb + start a cluster under DIR, create the
#                                 database torget_test and print its SQLAlchemy
#                                 URL as the only line on stdout.
#   tests/postgres.sh stop DIR    stop the cluster (if running) and remove DIR.
#
# The cluster trusts local connections, listens only on 127.0.0.1 on a free
# port plus a Unix socket inside DIR, and runs with fsync off: it holds nothing
# worth keeping. Everything except the URL goes to stderr so callers can write
# url=$(tests/postgres.sh start "$dir").
set -euo pipefail

DATABASE=torget_test
SUPERUSER=postgres

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    printf 'usage: %s start|stop DIR\n' "$0" >&2
    exit 2
}

# PostgreSQL's bin dir: pg_config knows it when the dev package is installed;
# otherwise take the newest version under /usr/lib/postgresql (Debian layout).
find_bindir() {
    local bindir=""
    if command -v pg_config >/dev/null 2>&1; then
        bindir=$(pg_config --bindir 2>/dev/null || true)
        # Debian's /usr/bin/pg_config (from libpq-dev) may report /usr/bin,
        # which has no initdb; fall through to the versioned dirs then.
        if [[ -n $bindir && ! -x $bindir/initdb ]]; then
            bindir=""
        fi
    fi
    if [[ -z $bindir ]]; then
        local candidate
        candidate=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -type d -name bin \
            2>/dev/null | sort -V | tail -n 1 || true)
        if [[ -n $candidate && -x $candidate/initdb ]]; then
            bindir=$candidate
        fi
    fi
    if [[ -z $bindir ]]; then
        die "no PostgreSQL server binaries found (no initdb via pg_config --bindir or" \
            "in /usr/lib/postgresql/*/bin). Install them, e.g. 'apt-get install postgresql'" \
            "(or run tests/system-deps.sh as root), or set TEST_DATABASE_URL to an existing database."
    fi
    printf '%s\n' "$bindir"
}

# initdb and pg_ctl refuse to run as root, so run them as the postgres user.
# When we are not root we cannot switch users; run them as ourselves then.
as_postgres() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u "$SUPERUSER" -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

start() {
    local dir=$1 bindir port
    bindir=$(find_bindir)
    if [[ $(id -u) -eq 0 ]] && ! id "$SUPERUSER" >/dev/null 2>&1; then
        die "running as root but there is no '$SUPERUSER' user to own the cluster"
    fi

    mkdir -p "$dir"
    [[ -z $(ls -A "$dir") ]] || die "$dir is not empty"
    if [[ $(id -u) -eq 0 ]]; then
        chown "$SUPERUSER": "$dir"
    fi
    chmod 700 "$dir"

    log "initdb in $dir/data ($bindir)"
    if ! as_postgres "$bindir/initdb" -D "$dir/data" --auth=trust -U "$SUPERUSER" \
        --encoding=UTF8 --locale=C.UTF-8 >&2; then
        log "initdb with --locale=C.UTF-8 failed; retrying with --no-locale"
        as_postgres rm -rf "$dir/data"
        as_postgres "$bindir/initdb" -D "$dir/data" --auth=trust -U "$SUPERUSER" \
            --encoding=UTF8 --no-locale >&2
    fi

    port=$(free_port)
    log "starting on 127.0.0.1:$port"
    # -k DIR keeps the Unix socket (and its lock file) inside DIR, away from
    # /var/run/postgresql, which may not exist or belong to a system cluster.
    if ! as_postgres "$bindir/pg_ctl" -D "$dir/data" -l "$dir/log" \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        -w start >&2; then
        log "pg_ctl start failed; server log follows"
        cat "$dir/log" >&2 || true
        exit 1
    fi

    as_postgres "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$SUPERUSER" "$DATABASE" >&2
    printf 'postgresql+psycopg://%s@127.0.0.1:%s/%s\n' "$SUPERUSER" "$port" "$DATABASE"
}

stop() {
    local dir=$1 bindir
    if [[ -d $dir/data ]]; then
        bindir=$(find_bindir)
        if as_postgres "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
            log "stopping the cluster in $dir"
            as_postgres "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
        fi
    fi
    rm -rf "$dir"
}

[[ $# -eq 2 && -n $2 ]] || usage
case $1 in
    start) start "$2" ;;
    stop) stop "$2" ;;
    *) usage ;;
esac
