# The two set-up commands (README): `make demo` and `make test`. Both create .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
# The OPA engine (--engine opa, the reference the policy tests and the differential test run on);
# the same pin as the `opa` extra in pyproject.toml, installed on any Python 3.10+.
OPA_BINDINGS := opa-golib-python-bindings==0.4.4

.PHONY: demo test venv lint

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m pip install -q --ignore-requires-python $(OPA_BINDINGS)
	touch $@

venv: $(VENV)/.installed

# The test suite's Debian packages (Samba, chromium, the MIT Kerberos headers) first, then the
# `kerberos` extra, which builds gssapi against those headers. `make demo` needs neither.
$(VENV)/.kerberos: $(VENV)/.installed scripts/test-deps
	scripts/test-deps
	$(PY) -m pip install -q -e '.[test,kerberos]'
	touch $@

# Lint and format on the package and the tests, types on the package, zero findings (pyproject.toml).
lint: $(VENV)/.installed
	$(BIN)/ruff check offhost_audit tests
	$(BIN)/ruff format --check offhost_audit tests
	$(BIN)/mypy

demo: $(VENV)/.installed
	$(BIN)/offhost-audit demo

test: $(VENV)/.kerberos lint
	$(BIN)/offhost-audit policy test
	$(BIN)/offhost-audit policy test --engine opa
	$(BIN)/offhost-audit policy test --coverage --threshold 90 > $(VENV)/policy-coverage.json
	@$(PY) -c 'import json; print("policy line coverage: %.2f%% (threshold 90%%)" % json.load(open("$(VENV)/policy-coverage.json"))["coverage"])'
	$(BIN)/offhost-audit policy test --engine opa --coverage --threshold 90 > $(VENV)/policy-coverage-opa.json
	@$(PY) -c 'import json; print("policy line coverage on OPA: %.2f%% (threshold 90%%)" % json.load(open("$(VENV)/policy-coverage-opa.json"))["coverage"])'
	$(PY) -m pytest
