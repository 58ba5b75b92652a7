# The two commands of the README: `make demo` and `make test`. Each sets itself up first.
ROWS ?= 1000000
PYTEST_ARGS ?=

.PHONY: setup demo test lint clean

setup:
	@BATCHML_EXTRAS=dev scripts/setup.sh

demo:
	@BATCHML_EXTRAS=core scripts/setup.sh
	.venv/bin/batchml demo --rows $(ROWS)

test: setup
	@scripts/test_setup.sh
	.venv/bin/python -m pytest $(PYTEST_ARGS)

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

clean:
	rm -rf demo-output .pytest_cache .mypy_cache .ruff_cache
