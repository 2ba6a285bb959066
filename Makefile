# One task runner: set-up, tests, lint, type-check, demo. `make test` and `make demo` do whatever set-up is missing.
VENV ?= .venv
PY := $(VENV)/bin/python
READY := $(VENV)/.ready

.PHONY: setup test lint typecheck check demo bench

# The virtual environment (CPU build of torch from constraints-cpu.txt), then Debian's Chromium (browser tests)
# and Fashion-MNIST (a real benchmark); the stamp is remade when the dependencies change.
$(READY): pyproject.toml constraints-cpu.txt scripts/install-chromium.sh scripts/install-fashion-mnist.sh
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]" -c constraints-cpu.txt
	bash scripts/install-chromium.sh
	bash scripts/install-fashion-mnist.sh
	touch $(READY)

setup:
	rm -f $(READY)
	$(MAKE) $(READY)

test: $(READY)
	$(PY) -m pytest -q

lint: $(READY)
	$(VENV)/bin/ruff check app workers tests bench
	$(VENV)/bin/ruff format --check app workers tests bench
	$(VENV)/bin/lint-imports

typecheck: $(READY)
	$(VENV)/bin/mypy

check: lint typecheck test

demo: $(READY)
	$(VENV)/bin/archarena demo

bench: $(READY)
	$(PY) bench/train_efficiency.py
