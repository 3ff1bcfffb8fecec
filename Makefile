# Handoff: `make run` starts everything on the embedded default, `make test` runs the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install api-tools axe run test lint migrate seed bench backup restore clean

# Bytecode is compiled at install (pip does so itself; uv only when asked): where
# PYTHONDONTWRITEBYTECODE is set, as in the image, every process would otherwise compile
# Django and the rest from source each time it starts, and each web worker's first requests
# would pay for the modules they import late.
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip uv
	$(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) -e ".[dev]" || \
	  $(PY) -m pip install -q -e ".[dev]"
	touch $@

# Redocly's CLI (pinned) for the schema lint test, cached under var/ (ignored by git).
REDOCLY_VERSION := 2.77.0
REDOCLY := var/tools/redocly/node_modules/.bin/redocly
api-tools:
	@test "$$($(REDOCLY) --version 2>/dev/null)" = "$(REDOCLY_VERSION)" || \
	  npm install --prefix var/tools/redocly --no-audit --no-fund --silent @redocly/cli@$(REDOCLY_VERSION)

# axe-core for the browser tests' accessibility checks, pinned in package-lock.json.
axe: node_modules/axe-core/axe.min.js

node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Quiet (errors still print): a first `make run` would otherwise open with a screen of
# "Applying ..." lines. `make migrate MIGRATE_ARGS=-v1` lists them.
MIGRATE_ARGS ?= -v0
migrate: install
	$(PY) manage.py migrate --noinput $(MIGRATE_ARGS)

seed: migrate
	$(PY) manage.py seed_demo

# Web server, Celery worker and Celery beat as three processes; Ctrl-C stops all of them.
run: seed
	$(PY) manage.py run_stack --addr $(HOST):$(PORT)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# Style, formatting and dead code (vulture reads [tool.vulture] in pyproject.toml).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/vulture

bench: install
	$(PY) -m bench $(BENCH_ARGS)

# Embedded SQLite only; PostgreSQL uses pg_dump/pg_restore (docs/operations.md, Backups).
backup: install
	$(PY) manage.py backup_db $(if $(FILE),--output $(FILE),)

restore: install
	@test -n "$(FILE)" || (echo "usage: make restore FILE=var/backups/handoff-....sqlite3" && exit 2)
	$(PY) manage.py restore_db $(FILE)

clean:
	rm -rf var/celery var/celerybeat-schedule*
