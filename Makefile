# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# `make run` is the product as a newcomer meets it: DEBUG off (DEBUG=1 make run to develop),
# over plain HTTP on this machine, with a secret key made once under var/ and kept.
DEBUG ?= 0
# Links in messages point where this run serves, unless SITE_URL says otherwise.
SITE_URL ?= http://$(HOST):$(PORT)
VAR_DIR ?= $(CURDIR)/var
RUN_ENV := DEBUG=$(DEBUG) SITE_URL=$(SITE_URL) SECRET_KEY_FILE=$(VAR_DIR)/secret_key \
	SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0 SECURE_HSTS_SECONDS=0 \
	LOG_FORMAT=$${LOG_FORMAT:-plain}

.PHONY: run test lint format install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	$(RUN_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@# --force: DEBUG is off, but this is the local demo (loopback unless HOST says otherwise).
	$(RUN_ENV) $(BIN)/python manage.py seed_demo --force
	@echo ""
	@echo "Bonding is starting at http://$(HOST):$(PORT)/  (Ctrl-C stops web, worker and beat)"
	@echo ""
	$(RUN_ENV) HOST=$(HOST) PORT=$(PORT) PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/honcho start -f Procfile

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@# Two lanes, both counted: everything on PostgreSQL and Redis, then the embedded default
	@# (SQLite, the filesystem broker, a file cache) on the tests listed in tests/lanes.py.
	@# PYTEST_ARGS naming no test of that list leaves the SQLite lane nothing (pytest's 5).
	PATH=$(CURDIR)/$(BIN):$$PATH bin/with-test-services $(BIN)/python -m pytest $(PYTEST_ARGS); \
	postgres=$$?; \
	PATH=$(CURDIR)/$(BIN):$$PATH bin/with-embedded-defaults $(BIN)/python -m pytest $(PYTEST_ARGS); \
	embedded=$$?; \
	[ $$embedded -eq 5 ] && [ -n "$(PYTEST_ARGS)" ] && embedded=0; \
	echo "PostgreSQL lane: exit $$postgres; SQLite lane: exit $$embedded"; \
	[ $$postgres -eq 0 ] && [ $$embedded -eq 0 ]

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var *.egg-info
