# The two commands of the README: `make run` and `make test`. Both build the virtualenv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# .env holds the local secrets; a fresh checkout starts from the example's dev values.
.env:
	cp .env.example .env

run: $(STAMP) .env
	$(BIN)/switchboard up

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: $(STAMP) lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m bench.sms_latency
	$(BIN)/python -m bench.webhooks
	$(BIN)/python -m bench.conversation_history

clean:
	rm -rf $(VENV) data
