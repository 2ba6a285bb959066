# One task runner: set-up, tests, lint, type-check, demo.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup test lint typecheck check demo bench

setup:
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]" -c constraints-cpu.txt
	bash scripts/install-chromium.sh
	bash scripts/install-fashion-mnist.sh

test:
	$(PY) -m pytest -q

lint:
	$(VENV)/bin/ruff check app workers tests bench
	$(VENV)/bin/ruff format --check app workers tests bench
	$(VENV)/bin/lint-imports

typecheck:
	$(VENV)/bin/mypy

check: lint typecheck test

demo:
	$(VENV)/bin/archarena demo

bench:
	$(PY) bench/train_efficiency.py
