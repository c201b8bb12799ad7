# One entry point for operators and CI. Everything installs into .venv from PyPI;
# nothing needs Ansible Galaxy, Docker or a helm binary.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
COLLECTION := collections/ansible_collections/openfl/envoy
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help venv demo test lint sanity chart-lint pytest molecule sandbox-up sandbox-down bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed  ## create the project virtualenv (.venv)

demo: venv openfl-venv  ## start the sandbox, roll out its envoys, print the summary and the director's accepted shards, stop the sandbox
	@$(BIN)/python -m sandbox up
	@rc=0; $(BIN)/ansible-playbook -i inventories/sandbox site.yml || rc=$$?; \
	  $(BIN)/python -m sandbox status || rc=$$?; \
	  $(BIN)/python -m sandbox down; exit $$rc

test: venv openfl-venv lint sanity chart-lint pytest molecule  ## every gate CI runs

lint: venv  ## yamllint, ansible-lint (production profile), ruff
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint --profile production
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

sanity: venv  ## ansible-test sanity on the collection, offline, one venv per test
	$(BIN)/python scripts/seed_ansible_test_pip.py
	cd $(COLLECTION) && $(BIN)/ansible-test sanity --venv --python 3.11 --color no

chart-lint: venv  ## Helm's own lint on charts/openfl-envoy (no helm binary)
	$(BIN)/python scripts/chart_lint.py charts/openfl-envoy

pytest: venv  ## unit, chart, sandbox-contract and module tests
	$(BIN)/python -m pytest

molecule: venv openfl-venv  ## molecule scenarios against the sandbox
	$(BIN)/molecule test --all

sandbox-up: venv openfl-venv  ## start the sandbox and leave it running
	$(BIN)/python -m sandbox up

sandbox-down: venv  ## stop the sandbox
	$(BIN)/python -m sandbox down

bench: venv  ## rollout benchmark on the sandbox (prints a table; BENCH_ARGS="--quick", "4@2 10:10", ...)
	$(BIN)/python bench/rollout.py $(BENCH_ARGS)

clean:  ## remove generated state (keeps .venv and .venv-openfl)
	rm -rf .sandbox artifacts pki $(COLLECTION)/tests/output

# --- OpenFL for the sandbox (issue 13) -----------------------------------------------------
# The sandbox runs a real OpenFL director and real envoys from their own virtualenv: OpenFL
# needs Python < 3.12 and pins its own grpcio/protobuf, so it cannot share .venv.
# OPENFL_PYTHON: pyenv's 3.11, else python3.11, else python3 when it is 3.11.
OPENFL_VENV := .venv-openfl
OPENFL16_VENV := .venv-openfl-1.6
OPENFL_PYTHON ?= $(shell for p in /root/.pyenv/versions/3.11.7/bin/python3.11 python3.11 python3; do \
  command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null \
  && { command -v $$p; break; }; done)

.PHONY: openfl-venv openfl-1.6-test

$(OPENFL_VENV)/.installed: requirements-openfl.txt
	@test -n "$(OPENFL_PYTHON)" || { echo "OpenFL needs Python 3.11: none found (set OPENFL_PYTHON=/path/to/python3.11)" >&2; exit 1; }
	test -x $(OPENFL_VENV)/bin/python || $(OPENFL_PYTHON) -m venv $(OPENFL_VENV)
	$(OPENFL_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(OPENFL_VENV)/bin/python -m pip install --quiet -r requirements-openfl.txt
	touch $@

openfl-venv: $(OPENFL_VENV)/.installed  ## the OpenFL virtualenv the sandbox's real director and envoys run from

$(OPENFL16_VENV)/.installed: requirements-openfl-1.6.txt
	@test -n "$(OPENFL_PYTHON)" || { echo "OpenFL needs Python 3.11: none found (set OPENFL_PYTHON=/path/to/python3.11)" >&2; exit 1; }
	test -x $(OPENFL16_VENV)/bin/python || $(OPENFL_PYTHON) -m venv $(OPENFL16_VENV)
	$(OPENFL16_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(OPENFL16_VENV)/bin/python -m pip install --quiet -r requirements-openfl-1.6.txt
	touch $@

openfl-1.6-test: venv $(OPENFL16_VENV)/.installed  ## a 1.6 envoy registers with a 1.6 director on the sandbox
	OPENFL_SANDBOX_VENV=$(CURDIR)/$(OPENFL16_VENV) $(BIN)/python -m pytest -m openfl16 tests/openfl
