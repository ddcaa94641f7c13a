# contactlog: `make run` serves the demo, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test test-fast coverage lint lock format bench profile lighthouse clean

# Every package comes from the lock, at the version and hash resolved there; contactlog itself
# is then installed editable on top, adding nothing the lock did not hold.
$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# The real OpenID provider of the single sign-on tests (npm's oidc-provider, at the versions in
# its lock), wherever npm is; without it those tests are skipped with a loud warning.
OIDC := tests/support/oidc
OIDC_STAMP := $(OIDC)/node_modules/.installed-stamp
$(OIDC_STAMP): $(OIDC)/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix $(OIDC) --silent --no-audit --no-fund && touch $@; \
	else \
		echo "npm not found: the single sign-on tests will be SKIPPED (apt-get install nodejs npm)"; \
	fi

run: $(STAMP)
	$(BIN)/contactlog migrate
	$(BIN)/contactlog demo
	$(BIN)/contactlog serve

# One worker per core (pytest-xdist): each has its own SQLite file and PostgreSQL schema.
test: $(STAMP) $(OIDC_STAMP)
	$(BIN)/pytest -n auto

# The SQLite half of the suite: what a developer runs between edits.
test-fast: $(STAMP) $(OIDC_STAMP)
	$(BIN)/pytest -n auto -k sqlite

# Which lines of contactlog the SQLite half of the suite runs (the PostgreSQL half runs the same
# code but for its dialect's branches).
coverage: $(STAMP)
	$(BIN)/pytest -n auto -k sqlite --cov --cov-report=term:skip-covered --cov-report=html

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# After changing a dependency in pyproject.toml: resolve both locks again, with hashes, for
# every platform (the image's runtime lock, and the developers' and CI's lock with the tools).
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --universal --generate-hashes --python-version 3.11 \
		--quiet -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --generate-hashes \
		--python-version 3.11 --quiet -o requirements-dev.lock

bench: $(STAMP)
	$(BIN)/python -m bench.run

# Where a log write's server time goes under load (py-spy; BACKEND=sqlite for the embedded one).
profile: $(STAMP)
	PATH=$(BIN):$$PATH $(BIN)/python -m bench.profile $(or $(BACKEND),postgresql)

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache .hypothesis $(OIDC)/node_modules

# Lighthouse's accessibility and best-practices audits of every role's pages on a fresh demo
# (Lighthouse from the npm registry into .lighthouse/, run on Debian's Chromium).
lighthouse: $(STAMP)
	$(BIN)/python -m tools.lighthouse
