# Each target bootstraps .venv itself, so a fresh clone needs nothing but Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run test soak lint migrate clean bench chromium

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the package metadata changes (editable install: code edits need nothing).
$(VENV)/.installed: setup.py $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The example third-party plugin is installed like any other, so the suite (and CI) finds
# it through its entry point and runs its own tests and the conformance kit on it.
EXAMPLE_PLUGINS := examples/flux-recon-paystack

$(VENV)/.installed-test: setup.py $(EXAMPLE_PLUGINS:%=%/pyproject.toml) $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet $(EXAMPLE_PLUGINS:%=-e %)
	touch $@ $(VENV)/.installed

migrate: $(VENV)/.installed
	$(BIN)/flux-recon db upgrade

run: migrate
	FLUX_RECON_BIND=$(HOST):$(PORT) $(BIN)/gunicorn -c config/gunicorn.conf.py wsgi:app

# The console's browser tests drive the system's Chromium (Debian's package), never a
# browser downloaded at run time: install it when missing and we may (root with apt-get).
CHROMIUM ?= /usr/bin/chromium
chromium:
	@test -x $(CHROMIUM) || { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }; \
	else echo "no $(CHROMIUM): install Debian's chromium package, or the console's browser tests are skipped"; fi; }

test: $(VENV)/.installed-test chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# A bounded soak: steady mixed traffic through gunicorn, then an invariant check over the
# whole database (PostgreSQL when FLUX_RECON_TEST_POSTGRES_URL is set). CI runs 120 s.
SOAK_SECONDS ?= 600
soak: $(VENV)/.installed-test
	FLUX_RECON_SOAK_SECONDS=$(SOAK_SECONDS) $(BIN)/python -m pytest -q -s -m soak tests/test_soak.py

# ruff for style; import-linter for the layers (.importlinter, docs/architecture.md).
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache

# Benchmarks, never part of `make test`: each prints its figures beside a baseline measured
# in the same run (docs/performance.md). PostgreSQL too when FLUX_RECON_BENCH_POSTGRES_URL
# names a database they may wipe (its name must contain "bench"). BENCH_ARGS picks
# benchmarks and options: make bench BENCH_ARGS="ingest --duration 10" (python -m bench -h).
bench: $(VENV)/.installed-test
	$(BIN)/python -m bench $(BENCH_ARGS)
