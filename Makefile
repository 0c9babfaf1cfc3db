# Kaireon Runs: developer and CI entry points. `make help` lists the targets.
#
# Without DATABASE_URL / REDIS_URL everything runs on SQLite (var/) and an embedded Redis, so a
# machine with only Python 3.11 is enough. Set them to use PostgreSQL / a real Redis instead.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
MANAGE := $(PY) manage.py
# Procfile commands and the tools below are found in the virtualenv first.
export PATH := $(abspath $(BIN)):$(PATH)

# Installs happen when pyproject.toml is newer than the stamp, i.e. only after it changed.
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

# Without REDIS_URL the command runs beside a private embedded Redis on a free port (stopped after).
WITH_BROKER := $(if $(REDIS_URL),,$(PY) -m kaireon.embedded_redis run --fresh --)

PYTEST_ARGS ?=
# Where `make browser` notes the Chromium it downloaded with Playwright (when there is no system one).
CHROMIUM_PATH_FILE := $(VENV)/.chromium-path
# bench/limit.py is the reference the scripts import, not a benchmark of its own.
BENCH ?= $(filter-out bench/__init__.py bench/limit.py,$(sort $(wildcard bench/*.py)))
HOST_URL := http://127.0.0.1:8000

.PHONY: help install install-dev run web worker beat flower redis browser test lint format bench clean distclean

help: ## List the targets
	@echo "Usage: make TARGET   (DATABASE_URL / REDIS_URL select PostgreSQL / Redis; default SQLite + embedded Redis)"
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP_RUN): pyproject.toml | $(PY)
	$(PY) -m pip install -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[dev]'
	touch $@ $(STAMP_RUN)

install: $(STAMP_RUN) ## Create .venv if missing and install the project (only when pyproject.toml changed)

install-dev: $(STAMP_DEV) ## Same, with the dev tools (pytest, ruff, mypy)

# The local set-up of run, web, worker, beat and flower: DEBUG off (DEBUG=1 opts in) over plain
# http on 127.0.0.1, so no HTTPS redirect and no Secure-only cookies; a SECRET_KEY generated once
# into var/secret_key; loopback webhooks allowed for the demo's receiver (production refuses
# them, kaireon/webhooks.py). Each can be overridden from the environment.
LOCAL_TARGETS := run web worker beat flower
$(LOCAL_TARGETS): export DEBUG ?= 0
$(LOCAL_TARGETS): export SECRET_KEY ?= $(shell $(PYTHON) scripts/local_secret_key.py)
$(LOCAL_TARGETS): export SECURE_SSL_REDIRECT ?= 0
$(LOCAL_TARGETS): export SESSION_COOKIE_SECURE ?= 0
$(LOCAL_TARGETS): export CSRF_COOKIE_SECURE ?= 0
$(LOCAL_TARGETS): export WEBHOOK_ALLOWED_HOSTS ?= 127.0.0.1

run: $(STAMP_RUN) ## Migrate, load demo data, then start redis, web, worker and beat with honcho (Ctrl-C stops all)
	$(MANAGE) migrate --noinput
	@# `help --commands` lists command names without importing them: a broken seed_demo fails loudly.
	@if $(MANAGE) help --commands | grep -x seed_demo >/dev/null; then $(MANAGE) seed_demo; seeded=1; \
	else echo "(no seed_demo command yet: starting without demo data)"; seeded=0; fi; \
	$(MANAGE) collectstatic --noinput --verbosity 0; \
	echo; \
	echo "Kaireon Runs is starting"; \
	echo "  App          $(HOST_URL)/"; \
	if [ "$$seeded" = 1 ]; then \
	echo "  Demo logins  demo-admin / kaireon-demo    (admin)"; \
	echo "               demo-editor / kaireon-demo   (editor)"; \
	echo "               demo-viewer / kaireon-demo   (viewer)"; fi; \
	echo "  API docs     $(HOST_URL)/api/docs/"; \
	echo "  Health       $(HOST_URL)/healthz"; \
	echo "  Flower       not started here: run 'make flower' in another terminal, then http://127.0.0.1:5555/"; \
	echo "  Database     $${DATABASE_URL:-SQLite in $${KAIREON_VAR_DIR:-var}/}" | sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#'; \
	echo "  Broker       $${REDIS_URL:-embedded Redis on 127.0.0.1:$${EMBEDDED_REDIS_PORT:-6390} (no persistence)}" | sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#'; \
	echo "  Stop         Ctrl-C stops every process started here"; \
	echo; \
	exec honcho --procfile Procfile start $(if $(REDIS_URL),web worker beat,)

web: $(STAMP_RUN) ## Only the web server (gunicorn, as in the Procfile); needs a migrated database and a broker
	gunicorn --config scripts/gunicorn_conf.py config.wsgi

worker: $(STAMP_RUN) ## Only a Celery worker (as in the Procfile)
	celery -A config worker -l info --concurrency 2

beat: $(STAMP_RUN) ## Only Celery beat (as in the Procfile)
	celery -A config beat -l info --scheduler django_celery_beat.schedulers:DatabaseScheduler

flower: $(STAMP_RUN) ## Celery Flower on http://127.0.0.1:5555/ for the broker of make run (or REDIS_URL)
	celery -A config flower --address=127.0.0.1 --port=5555

redis: $(STAMP_RUN) ## Only the embedded Redis, in the foreground on 127.0.0.1:6390
	$(PY) -m kaireon.embedded_redis serve

lint: $(STAMP_DEV) ## ruff check, ruff format --check and mypy over the project
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: $(STAMP_DEV) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

browser: $(STAMP_DEV) ## Chromium for the browser tests: CHROMIUM_PATH or /usr/bin/chromium, else apt-get (as root) or a Playwright download
	@if [ -n "$${CHROMIUM_PATH:-}" ] && [ -x "$${CHROMIUM_PATH}" ]; then echo "Chromium: $$CHROMIUM_PATH"; \
	elif [ -x /usr/bin/chromium ]; then echo "Chromium: /usr/bin/chromium"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update && apt-get install -y --no-install-recommends chromium; \
	else \
		$(PY) -m playwright install chromium; \
		$(PY) -c 'from playwright.sync_api import sync_playwright; p = sync_playwright().start(); print(p.chromium.executable_path); p.stop()' > $(CHROMIUM_PATH_FILE); \
		echo "Chromium: $$(cat $(CHROMIUM_PATH_FILE)) (Playwright's; make test passes it as CHROMIUM_PATH)"; \
	fi

test: $(STAMP_DEV) browser ## make lint, then the whole pytest suite, browser tests included (PYTEST_ARGS=... to pass options)
	$(MAKE) lint
	CHROMIUM_PATH="$${CHROMIUM_PATH:-$$(cat $(CHROMIUM_PATH_FILE) 2>/dev/null || true)}" $(WITH_BROKER) $(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP_DEV) ## Run the benchmark scripts in bench/ (bench/limit.py is their reference, not one of them): all, or BENCH=bench/name.py
	@scripts='$(strip $(BENCH))'; \
	if [ -z "$$scripts" ]; then echo "No benchmark scripts in bench/ yet."; exit 0; fi; \
	for script in $$scripts; do \
	echo "== $$script"; PYTHONPATH=. $(WITH_BROKER) $(PY) "$$script"; \
	done

clean: ## Remove caches, collected static files and test databases (keeps .venv and the dev database)
	rm -rf .mypy_cache .ruff_cache .pytest_cache test-output staticfiles
	find . -path ./$(VENV) -prune -o -type d -name __pycache__ -exec rm -rf {} +
	rm -f $${KAIREON_VAR_DIR:-var}/test*.sqlite3 $${KAIREON_VAR_DIR:-var}/test*.sqlite3-*

distclean: clean ## Also remove .venv and var/ (the dev database and media)
	rm -rf $(VENV) var
