# One entry point for operators and CI. Everything installs into .venv from PyPI;
# nothing needs Ansible Galaxy, Docker or a helm binary.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# The default toolchain: ansible 14 (ansible-core 2.21) on Python 3.12 (requirements.txt).
# The oldest one we claim: ansible 12 (ansible-core 2.19) on Python 3.11 (requirements-oldest.txt).
# Each Python is python3.X on PATH, else the newest $(pyenv root)/versions/3.X.*; or pass
# PYTHON=... / PYTHON_OLDEST=... to make.
PYTHON_VERSION := 3.12
PYTHON_OLDEST_VERSION := 3.11
PYTHON ?= $(shell scripts/find_python.sh $(PYTHON_VERSION) 2>/dev/null)
PYTHON_OLDEST ?= $(shell scripts/find_python.sh $(PYTHON_OLDEST_VERSION) 2>/dev/null)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
VENV_OLDEST := .venv-oldest
BIN_OLDEST := $(CURDIR)/$(VENV_OLDEST)/bin
COLLECTION := collections/ansible_collections/openfl/envoy
BUILD := build
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help venv venv-oldest demo test lint sanity changelog-lint chart-lint pytest docs molecule \
	collection test-installed ee-check test-oldest sandbox-up sandbox-down bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

# (Re)create a venv with the wanted Python: $(call make-venv,dir,python,version,requirements)
define make-venv
	@if [[ -z "$(2)" ]]; then scripts/find_python.sh $(3) >/dev/null || true; \
	  echo "error: no Python $(3) to create $(1) with" >&2; exit 1; fi
	@if [[ -x $(1)/bin/python ]] && ! $(1)/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != ($(subst .,$(comma),$(3))))'; then \
	  echo "$(1) is not Python $(3): recreating it"; rm -rf $(1); fi
	test -x $(1)/bin/python || $(2) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --upgrade pip
	$(1)/bin/python -m pip install --quiet -r $(4)
	touch $@
endef
comma := ,

$(VENV)/.installed: requirements.txt requirements-common.txt requirements-dev.txt
	$(call make-venv,$(VENV),$(PYTHON),$(PYTHON_VERSION),requirements-dev.txt)

$(VENV_OLDEST)/.installed: requirements-oldest.txt requirements-common.txt
	$(call make-venv,$(VENV_OLDEST),$(PYTHON_OLDEST),$(PYTHON_OLDEST_VERSION),requirements-oldest.txt)

venv: $(VENV)/.installed  ## create the project virtualenv (.venv, Python 3.12, ansible-core 2.21)

venv-oldest: $(VENV_OLDEST)/.installed  ## the oldest supported toolchain (.venv-oldest, Python 3.11, ansible-core 2.19)

demo: venv openfl-venv  ## start the sandbox, roll out its envoys, print the summary and the director's accepted shards, stop the sandbox
	@$(BIN)/ansible --version | sed -n 1p
	@$(BIN)/python -m sandbox up
	@rc=0; $(BIN)/ansible-playbook -i inventories/sandbox site.yml || rc=$$?; \
	  $(BIN)/python -m sandbox status || rc=$$?; \
	  $(BIN)/python -m sandbox down; exit $$rc

test: venv openfl-venv lint sanity changelog-lint chart-lint pytest docs ee-check molecule  ## every gate of the default toolchain

lint: venv  ## yamllint, ansible-lint (production profile), ruff
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint --profile production
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

sanity: venv  ## ansible-test sanity on the collection, offline, one venv per test
	$(BIN)/python scripts/seed_ansible_test_pip.py
	cd $(COLLECTION) && $(BIN)/ansible-test sanity --venv --python $(PYTHON_VERSION) --color no

changelog-lint: venv  ## antsibull-changelog lint (fragments and changelog.yaml)
	cd $(COLLECTION) && $(BIN)/antsibull-changelog lint

chart-lint: venv  ## Helm's own lint on charts/openfl-envoy and charts/openfl-director, plain and with ci/*-values.yaml (no helm binary)
	$(BIN)/python scripts/chart_lint.py charts/openfl-envoy
	$(BIN)/python scripts/chart_lint.py charts/openfl-director

pytest: venv  ## unit, chart, sandbox-contract and module tests
	$(BIN)/python -m pytest

docs: venv  ## ansible-doc renders every openfl.envoy module
	scripts/check_module_docs.sh $(BIN)

molecule: venv openfl-venv  ## molecule scenarios against the sandbox
	@# TMPDIR of its own: kubernetes.core leaves a discovery cache file per (sandbox) API server there.
	dir=$$(mktemp -d) && TMPDIR=$$dir $(BIN)/molecule test --all; status=$$?; rm -rf "$$dir"; exit $$status

collection: venv  ## build the collection tarball into build/
	$(BIN)/ansible-galaxy collection build --force --output-path $(BUILD) $(COLLECTION)
	$(BIN)/python scripts/check_collection_tarball.py $(BUILD)/openfl-envoy-$$(sed -n 's/^version: //p' $(COLLECTION)/galaxy.yml).tar.gz

test-installed: venv  ## build + install the collection into an empty path, roll the sandbox out from it
	scripts/sandbox_rollout.sh $(BIN) --installed

ee-check: collection  ## ansible-builder create on execution-environment.yml, then check the context
	rm -rf $(BUILD)/ee-context
	$(BIN)/ansible-builder create --file execution-environment.yml --context $(BUILD)/ee-context --output-filename Containerfile
	$(BIN)/python scripts/check_ee_context.py execution-environment.yml $(BUILD)/ee-context

test-oldest: venv-oldest  ## the oldest toolchain: collection unit tests, ansible-doc, one sandbox rollout
	@$(BIN_OLDEST)/ansible --version | sed -n 1p
	$(BIN_OLDEST)/python -m pytest $(COLLECTION)/tests/unit
	scripts/check_module_docs.sh $(BIN_OLDEST)
	scripts/sandbox_rollout.sh $(BIN_OLDEST)

sandbox-up: venv openfl-venv  ## start the sandbox and leave it running
	$(BIN)/python -m sandbox up

sandbox-down: venv  ## stop the sandbox
	$(BIN)/python -m sandbox down

bench: venv  ## rollout benchmark on the sandbox (prints a table; BENCH_ARGS="--quick", "4@2 10:10", ...)
	$(BIN)/python bench/rollout.py $(BENCH_ARGS)

clean:  ## remove generated state (keeps the virtualenvs)
	rm -rf .sandbox artifacts pki $(BUILD) $(COLLECTION)/tests/output

# --- OpenFL for the sandbox -------------------------------------------------------------------
# The sandbox runs a real OpenFL director and real envoys from their own virtualenv: OpenFL needs
# Python < 3.12 and pins its own grpcio/protobuf, so it cannot share .venv. It uses the oldest
# toolchain's Python (3.11).
OPENFL_VENV := .venv-openfl
OPENFL16_VENV := .venv-openfl-1.6

.PHONY: openfl-venv openfl-1.6-test

$(OPENFL_VENV)/.installed: requirements-openfl.txt
	$(call make-venv,$(OPENFL_VENV),$(PYTHON_OLDEST),$(PYTHON_OLDEST_VERSION),requirements-openfl.txt)

openfl-venv: $(OPENFL_VENV)/.installed  ## the OpenFL virtualenv the sandbox's real director and envoys run from

$(OPENFL16_VENV)/.installed: requirements-openfl-1.6.txt
	$(call make-venv,$(OPENFL16_VENV),$(PYTHON_OLDEST),$(PYTHON_OLDEST_VERSION),requirements-openfl-1.6.txt)

openfl-1.6-test: venv $(OPENFL16_VENV)/.installed  ## a 1.6 envoy registers with a 1.6 director on the sandbox
	OPENFL_SANDBOX_VENV=$(CURDIR)/$(OPENFL16_VENV) $(BIN)/python -m pytest -m openfl16 tests/openfl
