# Rallyround — the two commands: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
# Two xdist workers: the whole suite in 501 s on this 2-core machine, against ~780 s in one
# process (measured 2026-12-02, once test users' PBKDF2 hashing and WhiteNoise's per-Client file
# listing were gone: before, CPU-bound setup made two workers no faster). Tests that start their
# own processes stay together on one worker (PROCESS_TESTS in tests/conftest.py).
# `make test PYTEST_ARGS=` runs one process.
PYTEST_ARGS ?= -n 2 --dist loadgroup
HOST_PORT := 127.0.0.1:8000
LOCALSTRIPE_PORT := 8420

# PostgreSQL and Redis are used when configured, or (for tests) when they answer locally.
port_open = $(shell $(PYTHON) -c "import socket,sys; s=socket.socket(); s.settimeout(1); sys.exit(s.connect_ex(('127.0.0.1', $(1))))" 2>/dev/null && echo yes)

.PHONY: run test lint format install clean bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q ".[dev]"
	touch $@

install: $(VENV)/.installed
	$(PY) manage.py compile_catalogs

run: export DEBUG ?= true
run: export STRIPE_API_BASE ?= http://127.0.0.1:$(LOCALSTRIPE_PORT)
run: export STRIPE_JS_URL ?= http://127.0.0.1:$(LOCALSTRIPE_PORT)/js.stripe.com/v3/
run: export SITE_URL ?= http://$(HOST_PORT)
run: install
	mkdir -p var/broker/processed var/outbox var/media
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py seed_demo
	$(PY) manage.py congress_load --if-empty
	$(PY) manage.py seed_demo_actions
	@echo "Starting localstripe, Celery (worker + beat) and the web server on http://$(HOST_PORT) — Ctrl-C stops them all."
	@echo "Emails land in var/outbox/."
	$(VENV)/bin/honcho -f Procfile.dev start

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint
	@if [ -z "$$DATABASE_URL" ] && [ "$(call port_open,5432)" = "yes" ]; then \
	  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/rallyround; fi; \
	if [ -z "$$REDIS_URL" ] && [ "$(call port_open,6379)" = "yes" ]; then \
	  export REDIS_URL=redis://127.0.0.1:6379/15; fi; \
	export CACHE_BACKEND=locmem; \
	echo "Database: $${DATABASE_URL:-SQLite (PostgreSQL-only tests will be skipped)}"; \
	echo "Broker: $${REDIS_URL:-filesystem}"; \
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: install
	$(PY) bench/settlement.py

clean:
	rm -rf var $(VENV)
