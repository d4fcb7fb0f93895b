# Salonpost: `make demo` and `make test` work on a fresh machine with Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
RECIPIENTS ?= 100000
CLIENTS ?= 100000

.PHONY: install system-deps demo test lint typecheck imports check serve bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Salonpost needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## Debian's Chromium for the browser tests (never a browser download); needs root and apt.
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	  else echo "install Debian's chromium package (apt-get install chromium) for the browser tests" >&2; fi; }

## Set up, migrate a SQLite file, create a demo salon with 1,000 clients and send one campaign
## in-process to ./outbox (no servers needed).
demo: install
	$(BIN)/salonpost demo

## Run the whole test suite (needs PostgreSQL and Redis on 127.0.0.1; .ci/run starts them).
## pytest's exit code 5 (no tests collected) is a failure, never a pass.
test: install system-deps
	@mkdir -p test-artifacts
	$(BIN)/pytest --junitxml=test-artifacts/junit.xml $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

## The layers of DESIGN.md §2 (import-linter contracts in pyproject.toml).
imports: install
	$(BIN)/lint-imports

## Every static check in one command: ruff, ruff format, mypy strict, the import contracts.
check: lint typecheck imports

serve: install
	$(BIN)/salonpost serve

bench: install
	$(BIN)/python -m bench sending --channel smtp
	$(BIN)/python -m bench sending --channel twilio
	$(BIN)/python -m bench sending --channel fake
	$(BIN)/python -m bench sending --recipients $(RECIPIENTS)
	$(BIN)/python -m bench audience --clients $(CLIENTS)
	$(BIN)/python -m bench unsubscribe --requests 5000

clean:
	rm -rf $(VENV) outbox salonpost.db* test-artifacts .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
