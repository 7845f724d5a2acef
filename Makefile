# The two commands of the README:
#   make build   set up what is missing (.venv, node_modules), then write site/
#   make test    the same set-up plus Chromium, then the whole test suite
# Set-up steps re-run only when their lockfile changes.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
PY := .venv/bin/python
VENV := .venv/.installed
NODE := node_modules/.installed
PYTEST_WORKERS ?= 2
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: build test serve bench chromium setup

build: $(VENV) $(NODE)
	$(PY) -m builder build

# The suite in two parts, both run even if the first fails: what may share the machine, in
# PYTEST_WORKERS processes at once; then the tests whose results depend on how fast things run
# (marked timed: floors, ratios of times, the benchmark, Lighthouse), one at a time.
test: $(VENV) $(NODE) chromium
	@status=0; \
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist worksteal -m "not timed" || status=$$?; \
	$(PY) -m pytest -m timed || status=$$?; \
	exit $$status

serve: build
	$(PY) -m builder serve

bench: $(VENV) $(NODE) chromium
	$(PY) -m builder bench

setup: $(VENV) $(NODE) chromium

$(VENV): requirements.txt
	$(PYTHON) -m venv .venv
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(NODE): package-lock.json package.json
	npm ci --no-audit --no-fund
	touch $@

# Browser tests need Chromium: $CHROMIUM_PATH, a system chromium, or Debian's package.
chromium:
	@if [ -n "$$CHROMIUM_PATH" ] || command -v chromium >/dev/null; then :; else \
		echo "installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; fi
