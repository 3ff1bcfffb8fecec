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
	@echo "Handoff on http://$(HOST):$(PORT)/  (demo logins in README.md; Ctrl-C stops)"
	@trap 'kill 0' INT TERM; \
	$(VENV)/bin/celery -A crm worker --loglevel=INFO --concurrency=2 --hostname=worker@%h & \
	$(VENV)/bin/celery -A crm beat --loglevel=INFO --schedule=var/celerybeat-schedule & \
	$(PY) manage.py runserver $(HOST):$(PORT) --noreload & \
	wait

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf var/celery var/celerybeat-schedule*
