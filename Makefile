SHELL := /bin/bash
.DEFAULT_GOAL := test

UV_VERSION := 0.13.8
TOOLS := .venv-tools
VENV_STAMP := .venv/.synced

# python3 from PATH, else pyenv's shim (a trimmed PATH can leave pyenv out).
PYTHON ?= $(or $(shell command -v python3 2>/dev/null),$(wildcard $(HOME)/.pyenv/shims/python3),python3)
# A pyenv shim can exist for a uv that the selected Python lacks, so ask it to run.
UV ?= $(or $(shell uv --version >/dev/null 2>&1 && command -v uv),$(TOOLS)/bin/uv)
# Never let uv fetch a Python: the registries reachable here are package registries only.
export UV_PYTHON_DOWNLOADS := never
# Trust the system CA store (TLS-intercepting proxies), as pip does via its config here.
export UV_SYSTEM_CERTS ?= 1

.PHONY: venv run test bench

venv: $(VENV_STAMP)

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS) && $(TOOLS)/bin/python -m pip install --quiet uv==$(UV_VERSION) \
	  || $(PYTHON) -m pip install --quiet --target $(TOOLS) uv==$(UV_VERSION)

# Choose the interpreter only when creating .venv, so a different PATH does not rebuild it.
$(VENV_STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen $(if $(wildcard .venv/bin/python),,--python "$$($(PYTHON) -c 'import sys; print(sys.executable)')")
	touch $@

run: venv
	.venv/bin/python -m deploy.run

test: venv
	.venv/bin/python -m pytest tests $(PYTEST_ARGS)

bench: venv
	.venv/bin/python -m tests.bench.eventstore
	.venv/bin/python -m tests.bench.pipeline
	.venv/bin/python -m tests.bench.ledger_xlsx
	.venv/bin/python -m tests.bench.household_import
