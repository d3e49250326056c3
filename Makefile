# The two commands a newcomer needs (`make run`, `make test`) and the few a developer needs.
# Everything installs into .venv; torch is pinned to the CPU build and installed first.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export ANONYMIZED_TELEMETRY := False
export HF_HUB_DISABLE_TELEMETRY := 1
export HF_HUB_DISABLE_PROGRESS_BARS := 1
export TOKENIZERS_PARALLELISM := false
export GRADIO_ANALYTICS_ENABLED := False

.PHONY: run test install ingest chat lint tune clean

run: $(STAMP)  ## set up, ingest the default corpus (incrementally) and start the chat
	$(BIN)/citewise ingest
	$(BIN)/citewise chat

test: $(STAMP)  ## set up and run the whole test suite
	$(BIN)/pytest

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

ingest: $(STAMP)
	$(BIN)/citewise ingest

chat: $(STAMP)
	$(BIN)/citewise chat

lint: $(STAMP)  ## ruff and mypy on the four packages
	$(BIN)/ruff check ingest index app eval tests
	$(BIN)/mypy

tune: $(STAMP)  ## measure chunk sizes and calibrate the abstention threshold
	$(BIN)/python -m eval.tune --verbose

clean:
	rm -rf $(VENV) data/index
