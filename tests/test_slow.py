"""End to end with the real packaged MiniLM model (marked slow; still run by `make test`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import cli
from app.config import Settings
from app.service import Citewise
from tests.conftest import QUESTION

pytestmark = pytest.mark.slow

GOLD_QUOTE = ("Paraneoplastic muscle weakness is primarily caused by antibody-mediated "
              "autoimmunity")


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Citewise:
    folder = tmp_path_factory.mktemp("real")
    settings = Settings(index_dir=folder / "index", _env_file=None)
    service = Citewise(settings)
    summary = service.ingest()
    assert len(summary.added) == 2 and summary.failed == []
    return service


def test_chunks_fit_the_model(real: Citewise) -> None:
    limit = real.settings.chunker(real.embedder.max_tokens).chunk_tokens
    for chunk in real.index.manifest.all_chunks():
        assert real.embedder.count_tokens(chunk.embed_text()) <= limit


def test_the_question_retrieves_and_cites_the_autoimmunity_passage(real: Citewise) -> None:
    answer = real.ask(QUESTION)
    assert GOLD_QUOTE in answer.hits[0].chunk.text
    assert not answer.abstained
    assert GOLD_QUOTE in answer.sentences[0].text
    first = answer.citations[0]
    assert first.doc_id == "004_5e456227b6f932b4.txt" and first.quote.startswith(GOLD_QUOTE)
    assert "antibody-mediated autoimmunity" in answer.text and "[1]" in answer.text


@pytest.mark.parametrize("question", ["What is the capital of Australia?",
                                      "How is type 2 diabetes treated?"])
def test_off_topic_questions_abstain(real: Citewise, question: str) -> None:
    answer = real.ask(question)
    assert answer.abstained and answer.citations == ()


@pytest.mark.parametrize("question", [
    "How common is LEMS in small cell lung cancer?",
    "Which drug improved the neuromyopathy in the sicca syndrome case?",
])
def test_on_topic_questions_answer(real: Citewise, question: str) -> None:
    assert not real.ask(question).abstained


def test_cli_ask_json_with_real_model(real: Citewise, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEWISE_INDEX_DIR", str(real.settings.index_dir))
    monkeypatch.setenv("CITEWISE_SOURCES_DIR", str(Path(real.settings.sources_dir).resolve()))
    result = CliRunner().invoke(cli, ["ask", QUESTION, "--json"], catch_exceptions=False)
    data = json.loads(result.output)
    assert data["citations"][0]["quote"].startswith(GOLD_QUOTE)
    assert data["retrieved"][0]["rank"] == 1
