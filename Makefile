# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test browser demo lint format bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("wirewatch needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: set up, migrate the SQLite default, run one cycle over config/feeds.yaml, show matches
run: $(STAMP)
	$(BIN)/wirewatch migrate
	$(BIN)/wirewatch run-once
	$(BIN)/wirewatch matches --since 24h

## test: set up and run the whole test suite (PostgreSQL tests need 127.0.0.1:5432;
## the browser tests need Debian's chromium, installed here when run as root with apt-get)
test: $(STAMP) browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq chromium fonts-liberation >/dev/null; \
	  else echo "make: no chromium (apt-get install chromium); the browser tests will skip"; fi; }

## demo: the real pipeline, offline, on bundled sample feeds
demo: $(STAMP)
	$(BIN)/wirewatch demo

lint: $(STAMP)
	$(BIN)/ruff check pipeline tests bench alembic
	$(BIN)/ruff format --check pipeline tests bench alembic

format: $(STAMP)
	$(BIN)/ruff format pipeline tests bench alembic
	$(BIN)/ruff check --fix pipeline tests bench alembic

bench: $(STAMP)
	$(BIN)/python bench/extract.py
	$(BIN)/python bench/match.py
	$(BIN)/python bench/dedupe.py
	$(BIN)/python bench/fetch.py
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
