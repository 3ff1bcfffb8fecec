# Handoff: `make run` starts everything on the embedded default, `make test` runs the suite.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run web worker beat test lint migrate seed bench backup restore clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip uv
	$(VENV)/bin/uv pip install -q --python $(PY) -e ".[dev]" || $(PY) -m pip install -q -e ".[dev]"
	touch $@

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

# Web server, Celery worker and Celery beat as three processes; Ctrl-C stops all of them.
run: seed
	$(PY) manage.py run_stack --addr $(HOST):$(PORT)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf var/celery var/celerybeat-schedule*
