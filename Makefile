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

demo: venv  ## start the sandbox, roll out its envoys, print the summary, stop the sandbox
	@$(BIN)/python -m sandbox up
	@rc=0; $(BIN)/ansible-playbook -i inventories/sandbox site.yml || rc=$$?; \
	  $(BIN)/python -m sandbox down; exit $$rc

test: venv lint sanity chart-lint pytest molecule  ## every gate CI runs

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

molecule: venv  ## molecule scenarios against the sandbox
	$(BIN)/molecule test --all

sandbox-up: venv  ## start the sandbox and leave it running
	$(BIN)/python -m sandbox up

sandbox-down: venv  ## stop the sandbox
	$(BIN)/python -m sandbox down

bench: venv  ## rollout benchmark on the sandbox (prints a table; BENCH_ARGS="--quick", "4@2 10:10", ...)
	$(BIN)/python bench/rollout.py $(BENCH_ARGS)

clean:  ## remove generated state (keeps .venv)
	rm -rf .sandbox artifacts pki $(COLLECTION)/tests/output
