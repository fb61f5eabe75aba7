# The two commands of the README: `make run` and `make test`. Both build the virtualenv first:
# every package of uv.lock (all dependency groups), installed by uv. See docs/installing.md.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
UV     := $(BIN)/uv
# Bootstrapped from the package registry with pip; the Dockerfile's UV_VERSION is the same.
UV_VERSION := 0.13.9

.PHONY: run test test-fast lint bench bytecode clean postgres compose caddy chromium prometheus openssl

# The venv gets no pip of its own (that costs seconds): the machine's pip installs uv into it,
# or, where python3 has no pip, the venv's own from ensurepip.
$(UV):
	$(PYTHON) -m venv --without-pip $(VENV)
	$(PYTHON) -m pip --python $(BIN)/python install --quiet uv==$(UV_VERSION) 2>/dev/null || \
		{ $(BIN)/python -m ensurepip --default-pip >/dev/null && \
		  $(BIN)/python -m pip install --quiet uv==$(UV_VERSION); }

# --locked: install exactly uv.lock, and refuse a lock that pyproject.toml no longer matches
# (`uv lock` updates it). The machine's python3, never a downloaded one (pyproject: [tool.uv]).
$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --quiet --python $(PYTHON)
	touch $(STAMP)

# .env holds the local secrets; a fresh checkout starts from the example's dev values.
.env:
	cp .env.example .env

# Temporal's sandbox re-imports a workflow's module for every run: with PYTHONDONTWRITEBYTECODE
# set (common in containers and CI) and no bytecode, each run would compile it from source.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q src

run: $(STAMP) .env bytecode
	$(BIN)/switchboard up

lint: $(STAMP)
	$(UV) lock --check --quiet
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile

# The store is tested on PostgreSQL as well as SQLite: the server comes from Debian.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null)

# docker-compose.yml is validated with Debian's docker-compose (no Docker engine needed).
compose:
	@command -v docker-compose >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null)

# deploy/Caddyfile is run for real by the tests with Debian's caddy.
caddy:
	@command -v caddy >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends caddy >/dev/null)

# The dashboards are tested in a real browser: Debian's headless Chromium.
chromium:
	@command -v chromium >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null)

# The alert rules are checked and unit-tested with promtool: Debian's prometheus package.
prometheus:
	@command -v promtool >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null)

# deploy/certs/make-certs.sh is run by the tests with Debian's openssl.
openssl:
	@command -v openssl >/dev/null || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openssl >/dev/null)

# On every core and one more (pytest-xdist): most tests wait on a Temporal server or a child
# process. On 2 cores, 3 processes ran the suite in 8 min where 2 took 10 and 1 took 15.
TEST_PROCESSES ?= $(shell echo $$(( $$(nproc) + 1 )))
test: $(STAMP) bytecode lint postgres compose caddy chromium prometheus openssl
	$(BIN)/pytest --numprocesses $(TEST_PROCESSES) --dist worksteal

# The inner loop: SQLite only, no `switchboard` processes, no browser, no system packages
# (caddy, docker-compose, promtool, openssl), no fuzzing, no lint: it installs nothing with
# apt-get (markers in pyproject.toml, chosen in tests/conftest.py). `make test` runs all, as CI does.
test-fast: $(STAMP) bytecode
	$(BIN)/pytest -m "not postgresql and not integration and not browser and not system and not slow"

bench: $(STAMP) bytecode
	$(BIN)/python -m bench.sms_latency
	$(BIN)/python -m bench.webhooks
	$(BIN)/python -m bench.conversation_history
	$(BIN)/python -m bench.reprocess
	$(BIN)/python -m bench.export
	$(BIN)/python -m bench.freshness
	$(BIN)/python -m bench.message_cpu
	$(BIN)/python -m bench.events_intake

clean:
	rm -rf $(VENV) data
