# Everything the project needs is installed from here: a fresh machine only needs `make test` / `make demo`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup test demo bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

test: setup
	$(PY) -m pytest -q $(PYTEST_ARGS)

# DEMO_DATA=../shared/data/BTC-USD_1h_bitfinex.csv replays real candles instead of synthetic ones.
demo: setup
	$(PY) -m radar demo $(if $(DEMO_DATA),--data $(DEMO_DATA),)

bench: setup
	$(PY) benchmarks/store.py

clean:
	rm -rf $(VENV) .pytest_cache
