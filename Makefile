# `make demo` starts the demo dashboard; `make test` runs the whole suite. Both set themselves up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: setup system demo test test-fast lint bench soak clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

system:
	bash scripts/ensure-system.sh

demo: setup
	PYWRY_SERVER__HOST=$${PYWRY_SERVER__HOST:-127.0.0.1} $(BIN)/python examples/deploy_full_example.py

# three test processes, each taking whole files (their servers start once per file)
test: setup system
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 3 --dist loadfile

test-fast: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

lint: setup
	$(BIN)/ruff check pywry tests examples bench
	$(BIN)/ruff format --check pywry tests examples bench
	$(BIN)/mypy

bench: setup system
	$(BIN)/python -m bench

soak: setup system
	$(BIN)/python -m soak
	$(BIN)/python -m soak.memory 1000 10

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache .mypy_cache .ruff_cache
