# The two commands: `make demo` and `make test`. Each sets up what it needs first.
#
# Installs come from uv.lock (exact versions and hashes for every platform), so a new release
# of any dependency cannot change what a fresh machine installs. uv itself is pinned below and
# bootstrapped with the standard library's venv and pip; `make lock` refreshes the lock.
PYTHON     ?= python3
UV_VERSION := 0.13.10
VENV       := .venv
BIN        := $(VENV)/bin
TOOLS      := .tools
UV         := $(TOOLS)/bin/uv
# uv syncs the project's own .venv with the interpreter make was given; never downloads one
SYNC       := UV_PROJECT_ENVIRONMENT=$(VENV) UV_PYTHON_DOWNLOADS=never $(UV) sync --frozen \
              --python $(PYTHON) --quiet

.PHONY: demo test bench lint lock mutate clean plugin

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet uv==$(UV_VERSION)

# the demo needs the runtime packages only; --inexact leaves the test tools where they are
$(VENV)/.runtime: pyproject.toml uv.lock | $(UV)
	$(SYNC) --inexact
	touch $@

# the test environment is exactly the lock's runtime and test packages
$(VENV)/.test: pyproject.toml uv.lock | $(UV)
	$(SYNC) --extra test
	touch $@ $(VENV)/.runtime

demo: $(VENV)/.runtime
	$(BIN)/alliance demo
	@echo
	@echo "To run alliance yourself: source $(VENV)/bin/activate  (or call $(BIN)/alliance)"

test: $(VENV)/.test
	bash scripts/services.sh
	bash scripts/browser.sh
	bash scripts/system-deps.sh
	bash scripts/wordpress.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2

lint: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# every dependency to its newest release that pyproject.toml's ranges allow
lock: | $(UV)
	UV_PYTHON_DOWNLOADS=never $(UV) lock --upgrade --python $(PYTHON)

# mutation testing of the money and security core ([tool.mutmut] in pyproject.toml); slow, so
# not part of make test: its score and survivors are in the README's "Testing" section
mutate: | $(UV)
	$(SYNC) --extra mutate
	bash scripts/services.sh
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results

bench: $(VENV)/.test
	bash scripts/services.sh
	bash scripts/wordpress.sh
	bash scripts/bench-deps.sh
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/sync.py
	$(BIN)/python bench/backfill.py
	$(BIN)/python bench/worker.py
	$(BIN)/python bench/clicks.py
	$(BIN)/python bench/settlement.py
	$(BIN)/python bench/giftpacks.py
	$(BIN)/python bench/plugin.py
	$(BIN)/python bench/insights.py
	$(BIN)/python bench/dashboard.py

# the WordPress plugin as the zip a shop owner uploads (Plugins > Add New > Upload Plugin)
plugin:
	rm -f dist/shop-alliance.zip
	mkdir -p dist
	$(PYTHON) -m zipfile -c dist/shop-alliance.zip plugin/shop-alliance
	@echo "dist/shop-alliance.zip"

clean:
	rm -rf $(VENV) $(TOOLS) alliance-demo .pytest_cache .ruff_cache .hypothesis mutants
