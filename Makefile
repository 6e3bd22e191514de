# Conciergerie: `make run` serves the whole stack, `make test` runs every test.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed-stamp
MANAGE := $(PY) manage.py
# Commands that need no real configuration run with the test settings.
MANAGE_OFFLINE := DJANGO_SETTINGS_MODULE=conciergerie.settings_test $(PY) manage.py

.PHONY: run test proof bench load install services system-deps database messages lint security audit check clean help

help:
	@echo "make run    - install, start PostgreSQL and Redis, migrate, seed demo data, serve on http://127.0.0.1:8000"
	@echo "make test   - the same set-up, then lint, checks and the whole test suite"
	@echo "make proof  - the full-size proofs (reliability, fuzzing): long"
	@echo "make bench  - the benchmarks of bench/, with ratios against a baseline"
	@echo "make load   - the mixed load scenario of bench/load/ (p95, throughput, errors)"

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

.env:
	$(PY) scripts/make_env.py

services:
	@scripts/services.sh

system-deps:
	@scripts/system-deps.sh

messages: install
	@$(MANAGE_OFFLINE) compilemessages --ignore='.venv' -v 0

database: install services .env
	$(MANAGE) ensure_database
	$(MANAGE) migrate --noinput -v 0

run: system-deps database messages
	$(MANAGE) seed_demo
	$(MANAGE) collectstatic --noinput -v 0
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho start -f Procfile

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Python security linter over the application code (tests and benchmarks excluded).
APPS := conciergerie patients specialists appointments teleconsult billing reimbursements
security: install
	$(VENV)/bin/bandit -q -c pyproject.toml -r $(APPS) -ll

# Known vulnerabilities of the installed dependencies: needs the network (PyPI and
# the OSV database), so it runs as a scheduled CI job, not in `make test`.
audit: install
	$(VENV)/bin/pip install --quiet "pip-audit>=2.7"
	$(VENV)/bin/pip-audit --strict --progress-spinner off

check: install services
	$(MANAGE_OFFLINE) check
	$(MANAGE_OFFLINE) makemigrations --check --dry-run

# A fresh test database every time: a reused one may have lost the reference rows
# that data migrations load (the last transactional test of a run flushes them).
test: install system-deps services messages lint check
	$(VENV)/bin/pytest -q --create-db $(PYTEST_ARGS)

proof: install system-deps services messages
	$(VENV)/bin/pytest -q -m proof --proof $(PYTEST_ARGS)

bench: install services messages
	@status=0; for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || status=1; done; exit $$status

# Mixed load on real gunicorn workers, PostgreSQL and Redis, against a bare view:
# figures in bench/load/results.json and docs/performance-load.svg.
load: install services
	$(PY) bench/load/run.py

clean:
	rm -rf $(VENV) staticfiles var
