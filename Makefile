# Everything the project needs is installed from here: a fresh machine only needs `make test` / `make demo`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup dashboard browser test demo bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The dashboard (api/dashboard): `npm ci` when the lock file changed, `npm run build` when a source did.
DASHBOARD := api/dashboard
DASHBOARD_SRC := $(shell find $(DASHBOARD)/src -type f 2>/dev/null) $(addprefix $(DASHBOARD)/,index.html package.json tsconfig.json vite.config.ts)

$(DASHBOARD)/node_modules/.package-lock.json: $(DASHBOARD)/package-lock.json
	@command -v npm >/dev/null || { echo "make dashboard: npm not found: install Node.js >= 20.19 with npm"; exit 1; }
	cd $(DASHBOARD) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(DASHBOARD)/dist/index.html: $(DASHBOARD)/node_modules/.package-lock.json $(DASHBOARD_SRC)
	cd $(DASHBOARD) && npm run --silent build

dashboard: $(DASHBOARD)/dist/index.html

setup: $(STAMP) dashboard

# The browser tests (tests/e2e) drive Debian's Chromium through Playwright; no browser download.
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif command -v apt-get >/dev/null 2>&1; then \
		echo "installing Chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "no $(CHROMIUM) and no apt-get: the browser tests in tests/e2e will be skipped"; \
	fi

test: setup browser
	$(PY) -m pytest -q $(PYTEST_ARGS)

# DEMO_DATA=../shared/data/BTC-USD_1h_bitfinex.csv replays real candles instead of synthetic ones.
demo: setup
	$(PY) -m radar demo $(if $(DEMO_DATA),--data $(DEMO_DATA),)

bench: setup
	$(PY) benchmarks/store.py

clean:
	rm -rf $(VENV) .pytest_cache
