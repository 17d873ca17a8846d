# Jicai: the two commands are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite runs in this many pytest-xdist processes (one per core on the 2-core machine;
# each gets its own test database and its own Celery worker queue). TEST_WORKERS=0 runs
# it in one process.
TEST_WORKERS ?= 2
# System packages the suite needs: CJK fonts for PDFs, pdftotext/pdffonts to read PDFs
# back, Chromium for the browser journeys, gettext for the translation catalogs.
SYSTEM_PACKAGES := fonts-noto-cjk poppler-utils chromium gettext

.PHONY: run test bench mutation lint typecheck setup setup-dev system-packages migrate seed messages clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version' 
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

setup: $(VENV)/.runtime-installed
setup-dev: $(VENV)/.dev-installed

system-packages:
	@missing=""; \
	for pkg in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	  else \
	    echo "Missing system packages:$$missing. Install them with: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	fi

migrate: setup
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: seed
	@echo ""
	@echo "Jicai is starting on http://$(HOST):$(PORT)/  (SQLite, tasks in-process)"
	@echo "Demo logins (password for all: jicai-demo-2026):"
	@echo "  office            procurement office"
	@echo "  hospital01..30    hospitals (Beijing, Shanghai, Guangzhou, Chengdu, Jinan, Wuhan)"
	@echo "  maker01..12       manufacturers"
	@echo "  opener1..3        opening officials (passphrases: README, Opening ceremony)"
	@echo ""
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup-dev
	$(BIN)/mypy .

test: system-packages setup-dev lint typecheck
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --durations=25

bench: setup-dev
	$(BIN)/python -m bench.run

# Mutation testing of the pure cores, each module against its own tests (minutes, not
# part of `make test`; README "Mutation testing"). `make mutation MODULES=rules` runs one.
mutation: setup-dev
	nice $(BIN)/python scripts/mutation.py $(MODULES)

messages: setup-dev
	$(BIN)/python scripts/i18n.py update
	$(BIN)/python scripts/i18n.py missing

clean:
	rm -rf $(VENV) staticfiles test-artifacts .pytest_cache .mypy_cache .ruff_cache
