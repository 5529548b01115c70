# Torget developer and CI entry points. `make run` gives a local instance with
# demo data; `make test` is exactly what CI runs (.ci/run).
SHELL := /bin/bash
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Extra arguments for pytest, e.g. make test PYTEST_ARGS='-k login -x'
PYTEST_ARGS ?=

.PHONY: install translations extract-messages migrate demo run system-deps node-deps lint test screenshots clean

# The stamp is newer than pyproject.toml once its dependencies are installed,
# so editing the dependencies reinstalls and nothing else does.
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e '.[test]'
	touch $@

# Compiled catalogs (.mo) are build output, not committed.
translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d torget/translations

# Refresh the template and the catalogs after changing user-facing strings.
extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o torget/translations/messages.pot .
	$(BIN)/pybabel update -i torget/translations/messages.pot -d torget/translations --no-fuzzy-matching

migrate: install translations
	TORGET_ENV=$${TORGET_ENV:-development} $(BIN)/torget db upgrade

# Loads the demo data and prints the demo users and their passwords.
demo: migrate
	TORGET_ENV=$${TORGET_ENV:-development} TORGET_DEMO=1 $(BIN)/torget demo load

# The daily jobs run beside the server (make run has no cron; production uses
# the Kubernetes CronJob in deploy/k8s/), and stop with it.
run: demo node-deps
	export TORGET_ENV=$${TORGET_ENV:-development} TORGET_DEMO=1; \
	$(BIN)/torget catalog check-expiry --repeat-hours 24 & jobs=$$!; \
	trap 'kill $$jobs 2>/dev/null' EXIT; \
	$(BIN)/gunicorn -c deploy/gunicorn.conf.py 'torget.app:create_app()'

# PostgreSQL, Chromium, chromedriver and Redis from Debian (installs only what
# is missing, and only as root).
system-deps:
	tests/system-deps.sh

# The npm fhirclient's browser build, served locally to the SMART tests in
# tests/smart (no CDN). The stamp is newer than package-lock.json once `npm ci`
# installed exactly what the lock file lists. --legacy-peer-deps: fhirclient's
# isomorphic-webcrypto names react-native and expo as peers, which the browser
# build never loads, and npm ci refuses the lock file npm writes with them
# ("Missing: @expo/env from lock file"). --ignore-scripts: nothing runs or
# downloads at install time.
node-deps: node_modules/.installed

node_modules/.installed: package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js and npm" >&2; exit 1; }
	npm ci --no-audit --no-fund --legacy-peer-deps --ignore-scripts
	touch $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# One script, so its EXIT trap stops the database and Redis it started.
test: install translations system-deps node-deps
	BIN=$(BIN) tests/run.sh $(PYTEST_ARGS)

# The README tour's screenshots (docs/screenshots/*.png), taken by the whole-loop browser
# test as it goes. On SQLite only: without TEST_DATABASE_URL and CI the tests use no other.
screenshots: install translations system-deps node-deps
	env -u TEST_DATABASE_URL -u CI TORGET_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q \
		-p no:cacheprovider \
		tests/smart/test_whole_loop.py::test_a_release_goes_from_the_vendor_to_an_ehr_launch_and_stops_when_disabled

clean:
	rm -rf $(VENV) instance .pytest_cache node_modules
	find . -name '*.mo' -not -path './$(VENV)/*' -not -path './.git/*' -delete
