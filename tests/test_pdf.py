"""PDF pages: each page's range of the cleaned text, the page of every chunk and citation
(ask --json, the CLI print, the source card), and indexes from before pages were kept."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

import app.service
from app.cli import cli
from app.config import Settings
from app.service import Citewise
from app.web import render
from ingest.chunking import ChunkerSettings, chunk_document
from ingest.clean import clean
from ingest.loaders import load_document
from ingest.sentences import split_sentences
from ingest.types import page_at
from tests.fakes import HashingEmbedder
from tests.pdf_samples import make_pdf, page_texts


def _doc(data: bytes):
    loaded = load_document(Path("lems.pdf"), data)
    return loaded, clean("lems.pdf", "lems.pdf", loaded.blocks)


def test_every_page_keeps_its_range_of_the_cleaned_text() -> None:
    data = make_pdf()
    loaded, doc = _doc(data)
    assert loaded.pages == 4 and loaded.problems == ()
    assert [p.page for p in doc.pages] == [1, 2, 3, 4]
    oracle = page_texts(data)
    for span in doc.pages:
        # The page's stretch of cleaned text is that page's text (and no other page's).
        assert " ".join(doc.text[span.start:span.end].split()) == oracle[span.page - 1]
    assert all(a.end < b.start for a, b in zip(doc.pages, doc.pages[1:], strict=False))


@pytest.mark.parametrize("chunk_tokens", [12, 40, 160])
def test_span_to_page_for_every_chunk_and_sentence(chunk_tokens: int) -> None:
    data = make_pdf()
    _, doc = _doc(data)
    oracle = page_texts(data)
    chunks = chunk_document(doc, lambda t: len(t.split()),
                            ChunkerSettings(chunk_tokens, min(8, chunk_tokens // 2)))
    assert chunks
    crossing = 0
    for chunk in chunks:
        assert doc.text[chunk.start:chunk.end] == chunk.text
        assert chunk.page == page_at(doc.pages, chunk.start)
        assert chunk.page_end == page_at(doc.pages, chunk.end - 1)
        assert chunk.page <= chunk.page_end
        crossing += chunk.page != chunk.page_end
        for s, e in split_sentences(doc.text, chunk.start, chunk.end):
            sentence = " ".join(doc.text[s:e].split())
            page = chunk.page_of(s)
            assert sentence in oracle[page - 1], (sentence, page)
            assert all(sentence not in oracle[other] for other in range(4) if other != page - 1)
    if chunk_tokens == 160:
        assert crossing  # a chunk that crosses a page break knows where it breaks


def test_non_pdf_documents_have_no_pages() -> None:
    loaded = load_document(Path("a.txt"), b"Title\n\nA sentence about thymoma.")
    doc = clean("a.txt", "a.txt", loaded.blocks)
    assert doc.pages == () and loaded.pages == 0
    chunk = chunk_document(doc, lambda t: len(t.split()))[0]
    assert (chunk.page, chunk.page_end, chunk.page_breaks) == (None, None, ())


@pytest.fixture
def pdf_sources(tmp_path: Path) -> Path:
    folder = tmp_path / "pdfs"
    folder.mkdir()
    (folder / "lems.pdf").write_bytes(make_pdf())
    (folder / "notes.txt").write_text("Thymoma notes\n\nA thymoma is a tumour of the thymus.\n")
    return folder


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, pdf_sources: Path):
    monkeypatch.setattr(app.service, "default_embedder", lambda settings: HashingEmbedder())
    monkeypatch.setenv("CITEWISE_SOURCES_DIR", str(pdf_sources))
    monkeypatch.setenv("CITEWISE_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_ask_json_citation_carries_the_quote_page(run) -> None:
    summary = json.loads(run("ingest", "--json").output)
    assert summary["added"] == 2 and summary["pages"]["read"] == 4
    assert summary["warnings"] == [] and summary["failed"] == []
    result = run("ask", "How does amifampridine improve muscle strength?", "--json",
                 "--mode", "extractive")
    data = json.loads(result.output)
    assert not data["abstained"]
    oracle = page_texts(make_pdf())
    pdf_cites = [c for c in data["citations"] if c["source"] == "lems.pdf"]
    assert pdf_cites
    for c in pdf_cites:
        assert c["page"] is not None and c["page_end"] is not None
        assert " ".join(c["quote"].split()) in oracle[c["page"] - 1]
    assert any(c["page"] == 3 and "Amifampridine" in c["quote"] for c in pdf_cites)
    other = [c for c in data["citations"] if c["source"] == "notes.txt"]
    assert all(c["page"] is None for c in other)
    printed = run("ask", "How does amifampridine improve muscle strength?", "--mode",
                  "extractive").output
    assert "lems.pdf, page 3, characters" in printed


def test_source_card_says_the_page_and_links_to_it(pdf_sources: Path, tmp_path: Path) -> None:
    service = Citewise(Settings(sources_dir=pdf_sources, index_dir=tmp_path / "ix",
                                _env_file=None), HashingEmbedder())
    service.ingest()
    answer = service.ask("Which antibodies reduce the release of acetylcholine?",
                         mode="extractive")
    cite = next(c for c in answer.citations if c.doc_id == "lems.pdf")
    assert cite.page == 1
    card = render.sources_card(1, cite)
    assert "lems.pdf · p. 1 · characters" in card
    assert 'href="/source/lems.pdf#page=1"' in card and ">open at p. 1</a>" in card
    from tests.ui_samples import assert_inert

    assert_inert(card)


def test_an_index_from_before_pages_opens_and_the_next_sync_adds_them(
        pdf_sources: Path, tmp_path: Path) -> None:
    settings = Settings(sources_dir=pdf_sources, index_dir=tmp_path / "ix", _env_file=None)
    embedder = HashingEmbedder()
    Citewise(settings, embedder).ingest()
    # Make the manifest what an older release wrote: no page columns at all.
    db = sqlite3.connect(tmp_path / "ix" / "manifest.sqlite")
    for column in ("page", "page_end", "page_breaks", "anchor"):
        db.execute(f"ALTER TABLE chunks DROP COLUMN {column}")
    db.commit()
    db.close()
    old = Citewise(settings, embedder)
    answer = old.ask("Which antibodies reduce the release of acetylcholine?",
                     mode="extractive")
    assert answer.citations and all(c.page is None for c in answer.citations)
    assert json.loads(json.dumps(answer.to_json()))["citations"][0]["page"] is None
    calls = embedder.calls
    summary = Citewise(settings, embedder).ingest()
    assert summary.updated == ["lems.pdf"] and summary.unchanged == ["notes.txt"]
    assert embedder.calls == calls  # the same passages: nothing embedded again
    again = Citewise(settings, embedder)
    answer = again.ask("Which antibodies reduce the release of acetylcholine?",
                       mode="extractive")
    assert any(c.page == 1 for c in answer.citations if c.doc_id == "lems.pdf")
    assert Citewise(settings, embedder).ingest().updated == []  # once only


def test_ingest_lists_a_pdf_that_lost_a_page(run, pdf_sources: Path) -> None:
    from tests.pdf_samples import with_broken_page

    (pdf_sources / "broken.pdf").write_bytes(with_broken_page(make_pdf(), 2))
    result = run("ingest")
    assert result.exit_code == 0
    assert "3 added" in result.output
    assert ("broken.pdf: page 3 of 4 could not be read (NotImplementedError: Unsupported "
            "filter /NoSuchFilter); the other pages were ingested") in result.output
