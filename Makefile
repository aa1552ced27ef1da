# e-APS — the two commands of the README: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PACKAGES := -e contracts -e libs $(foreach s,$(wildcard services/*),-e $(s)) -e gateway

.PHONY: install run test test-fast lint contracts bench system-deps clean-local

$(VENV)/.installed: requirements-dev.txt contracts/pyproject.toml libs/pyproject.toml $(wildcard services/*/pyproject.toml) gateway/pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements-dev.txt
	$(PIP) install -q --no-deps $(PACKAGES)
	touch $@

install: $(VENV)/.installed system-deps

# Debian packages, the S3 server, the DSFR and test tools from npm (first use only).
system-deps:
	bash deploy/local/install.sh

run: install
	$(PY) deploy/local/run.py

# Two pytest runs: the browser tests use Playwright's sync API, whose event loop must not be
# running while the asyncio tests run.
test: install
	bash deploy/local/ensure-services.sh
	$(VENV)/bin/pytest -p no:randomly --ignore=tests/browser $(PYTEST_ARGS)
	$(VENV)/bin/pytest -p no:randomly tests/browser $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

contracts: install
	$(PY) -m eaps_contracts.generate

bench: install
	$(PY) -m bench

clean-local:
	rm -rf var/
