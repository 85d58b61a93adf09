# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
comma := ,
HOST ?= 127.0.0.1
PORT ?= 8000
# `make run` is the product as a newcomer meets it: DEBUG off (DEBUG=1 make run to develop),
# over plain HTTP on this machine, with a secret key made once under var/ and kept. Texts go
# to files under var/ (ALLOW_LOCAL_DELIVERY=1: that is on purpose here, unless SMS_BACKEND
# names a provider).
DEBUG ?= 0
# Links in messages point where this run serves, unless SITE_URL says otherwise.
SITE_URL ?= http://$(HOST):$(PORT)
VAR_DIR ?= $(CURDIR)/var
ALLOW_LOCAL_DELIVERY ?= 1
RUN_ENV := DEBUG=$(DEBUG) SITE_URL=$(SITE_URL) SECRET_KEY_FILE=$(VAR_DIR)/secret_key \
	SECURE_SSL_REDIRECT=0 SESSION_COOKIE_SECURE=0 CSRF_COOKIE_SECURE=0 SECURE_HSTS_SECONDS=0 \
	ALLOW_LOCAL_DELIVERY=$(ALLOW_LOCAL_DELIVERY) LOG_FORMAT=$${LOG_FORMAT:-plain}

.PHONY: run test lint format install clean lock typecheck messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Exactly the locked versions (hash-checked), then the project itself; reinstall whenever the
# lock or pyproject.toml changes. tests/bonding/test_lock.py fails when the two disagree.
$(VENV)/.installed: requirements/test.txt pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements/test.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# Translations are compiled from the committed .po files (GNU gettext's msgfmt).
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))
%.mo: %.po
	msgfmt --check -o $@ $<

install: $(VENV)/.installed $(MO_FILES)

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
	$(BIN)/mypy
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

# Recompile the locks from pyproject.toml's ranges: pins that still fit are kept, new names are
# added, dropped ones removed. `make lock UPGRADE=1` moves every pin to the newest allowed.
# The locks are for Python 3.11 (the Dockerfile's); test.txt is runtime + test, runtime.txt
# (the Docker image) is held to the same versions.
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
	--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
	--no-emit-trusted-host $(if $(UPGRADE),--upgrade)

# pip-tools and pip as the lock pins them (pip-tools follows pip's internals), so a fresh
# checkout compiles the way the last `make lock` did; a range if the lock names neither.
LOCKED = $(shell grep -o -m1 '^$(1)==[^ ]*' requirements/test.txt 2>/dev/null || echo '$(1)$(2)')
$(BIN)/pip-compile: | $(BIN)/python
	$(BIN)/pip install --quiet '$(call LOCKED,pip,>=24)' '$(call LOCKED,pip-tools,>=7.4$(comma)<8)'

lock: | $(BIN)/pip-compile
	@$(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "make lock: the locks are compiled with Python 3.11; set PYTHON=python3.11")'
	$(PIP_COMPILE) --extra test --output-file requirements/test.txt pyproject.toml
	$(PIP_COMPILE) --constraint requirements/test.txt --output-file requirements/runtime.txt pyproject.toml

typecheck: install
	$(BIN)/mypy

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var *.egg-info $(MO_FILES)

# Re-extract every marked string into the .po files after changing user-facing text.
messages: install
	$(BIN)/python manage.py makemessages --all --no-obsolete --ignore=.venv --ignore=var --ignore=tests --ignore=bench
	$(BIN)/python manage.py makemessages --all --no-obsolete -d djangojs --ignore=.venv --ignore=var --ignore=tests --ignore=static/vendor --ignore=bench
