# The two commands: `make demo` and `make test`. Each sets up what it needs first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# runtime install for the demo; the stamp is redone whenever pyproject.toml changes
$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --editable .
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --editable '.[test]'
	touch $@

demo: $(VENV)/.runtime
	$(BIN)/alliance demo

test: $(VENV)/.test
	bash scripts/services.sh
	bash scripts/browser.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2

bench: $(VENV)/.test
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/worker.py
	$(BIN)/python bench/clicks.py

clean:
	rm -rf $(VENV) alliance-demo .pytest_cache .ruff_cache .hypothesis
