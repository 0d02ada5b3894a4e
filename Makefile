# Every setup step lives here: a fresh machine has only Python 3.11, node and apt.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip -q --disable-pip-version-check

.PHONY: run test install install-test lint clean snippet app-ui chromium prometheus nginx caddy bench chaos wrk

run: install ## set up and serve the tracker on http://127.0.0.1:8000 with an embedded ClickHouse
	$(PY) -m tracker serve

# Three pytest-xdist workers, each with its own embedded ClickHouse: many tests wait (on timeouts,
# flushes, browsers, Prometheus scrapes), so three share two cores well. Measured on one machine:
# one process 16.6 min, three 9.3 min, four 10.2 min.
test: install-test snippet app-ui chromium prometheus nginx caddy ## set up and run the test suite
	$(PY) -m pytest -n 3

# The tag is built from js-snippet/src with pinned npm packages (package-lock.json) and the result,
# js-snippet/dist/t.js, is committed: `make run` serves it without node; `make test` rebuilds it
# first so the tests always exercise the current source.
snippet: js-snippet/node_modules/.installed ## build js-snippet/dist/t.js
	cd js-snippet && npm run --silent build
	cd js-snippet && npm run --silent build:shopify  # dist/shopify-pixel.js, the Shopify custom pixel

js-snippet/node_modules/.installed: js-snippet/package-lock.json
	cd js-snippet && npm ci --no-audit --no-fund
	touch $@

# The pages' script and styles (/app), uPlot included, built from app-ui/src the same way: pinned
# packages, the result (app-ui/dist/app.js, app.css) committed and served by the tracker itself.
app-ui: app-ui/node_modules/.installed ## build app-ui/dist/app.js and app.css
	cd app-ui && npm run --silent build

app-ui/node_modules/.installed: app-ui/package-lock.json
	cd app-ui && npm ci --no-audit --no-fund
	touch $@

bench: install wrk ## speed and memory vs same-run baselines (several minutes; not part of make test)
	$(PY) bench/run.py

chaos: install-test ## long failure drills: ClickHouse outage, kill -9, resends; then the long fuzz run
	$(PY) bench/chaos.py
	HYPOTHESIS_PROFILE=chaos $(PY) -m pytest -q tests/test_ingest_fuzz.py

# The load generator for make bench: Debian's wrk.
wrk:
	command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)

# tests/deploy run Debian's Prometheus against a test tracker, and its promtool on deploy/prometheus.
prometheus:
	command -v prometheus >/dev/null && command -v promtool >/dev/null || (apt-get update && apt-get install -y prometheus)

# tests/browser/test_proxy_nginx.py and test_proxy_caddy.py run Debian's nginx and Caddy with the
# configurations of docs/integrations/proxy.md.
nginx:
	command -v nginx >/dev/null || test -x /usr/sbin/nginx || (apt-get update && apt-get install -y nginx)

caddy:
	command -v caddy >/dev/null || (apt-get update && apt-get install -y caddy)

# The browser tests drive Debian's chromium through Playwright (no browser download).
chromium:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	# chdb-core has no required dependencies; without --no-deps pip would pull pandas and pyarrow.
	$(PIP) install --no-deps chdb-core==26.9.0
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

clean:
	rm -rf $(VENV) data
