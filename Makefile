# The two set-up commands (README): `make demo` and `make test`. Both create .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: demo test venv

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/offhost-audit demo

test: $(VENV)/.installed
	scripts/test-deps
	$(BIN)/offhost-audit policy test
	$(BIN)/offhost-audit policy test --coverage --threshold 90 > $(VENV)/policy-coverage.json
	@$(PY) -c 'import json; print("policy line coverage: %.2f%% (threshold 90%%)" % json.load(open("$(VENV)/policy-coverage.json"))["coverage"])'
	$(PY) -m pytest
