#!/usr/bin/env bash
# Install the Debian packages the test suite needs, but only those missing:
#   postgresql       server binaries for tests/postgres.sh (initdb, pg_ctl)
#   chromium         the browser Playwright drives in tests/browser
#   chromium-driver  chromedriver, kept alongside chromium
#   redis-server     a throwaway Redis for the rate-limit and session tests
#   nodejs, npm      installs the npm fhirclient the SMART browser tests load
# As root it runs apt-get; otherwise it only says what to install and fails
# when something is missing. With everything present it does nothing.
set -euo pipefail

log() { printf 'system-deps: %s\n' "$*" >&2; }

missing=()

# postgresql: the server binaries live in a versioned dir, not on PATH.
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    missing+=(postgresql)
fi
if [[ ! -x /usr/bin/chromium ]]; then
    missing+=(chromium)
fi
if [[ ! -x /usr/bin/chromedriver ]]; then
    missing+=(chromium-driver)
fi
if ! command -v redis-server >/dev/null 2>&1; then
    missing+=(redis-server)
fi
# Node.js and npm: the npm fhirclient that tests/smart runs in Chromium.
if ! command -v npm >/dev/null 2>&1; then
    missing+=(nodejs npm)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
    log "all present (postgresql, chromium, chromium-driver, redis-server, npm)"
    exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
    log "missing Debian packages: ${missing[*]}"
    log "install them as root: apt-get install --no-install-recommends ${missing[*]}"
    exit 1
fi

log "installing: ${missing[*]}"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
log "installed: ${missing[*]}"
