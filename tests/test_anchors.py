"""Heading anchors of HTML and Markdown sources: a heading's id reaches the chunks under it
and their citations, and the source card links to `#id`."""

from __future__ import annotations

from pathlib import Path

from app.config import Settings
from app.service import Citewise
from app.web import render
from ingest.chunking import chunk_document
from ingest.clean import clean
from ingest.loaders import load
from tests.fakes import HashingEmbedder

HTML = """<html><head><title>Myasthenia gravis</title></head><body>
<h1 id="top">Myasthenia gravis</h1>
<p>Myasthenia gravis is an autoimmune disease of the neuromuscular junction.</p>
<h2 id="treatment">Treatment</h2>
<p>Pyridostigmine improves muscle strength within an hour of the dose.</p>
<h3>Surgery</h3>
<p>Thymectomy helps patients with a thymoma and many without one.</p>
<h2 data-id="x">Prognosis</h2>
<p>Most patients lead a normal life with treatment.</p>
</body></html>"""

MARKDOWN = """# Lambert-Eaton syndrome {#lems}

Lambert-Eaton syndrome weakens the proximal muscles of the legs.

## Diagnosis {#diagnosis}

Antibodies against voltage-gated calcium channels confirm the diagnosis.

## Outlook

The outlook depends on the associated tumour.
"""


def _chunks(name: str, text: str):
    doc = clean(name, name, load(Path(name), text.encode()))
    return doc, chunk_document(doc, lambda t: len(t.split()))


def test_html_heading_ids_reach_the_chunks_under_them() -> None:
    doc, chunks = _chunks("mg.html", HTML)
    by_text = {c.text.split(".")[0]: c.anchor for c in chunks}
    assert by_text["Myasthenia gravis is an autoimmune disease of the neuromuscular junction"] \
        == "top"
    assert by_text["Pyridostigmine improves muscle strength within an hour of the dose"] \
        == "treatment"
    # A heading without an id: the nearest one above it that has one.
    assert by_text["Thymectomy helps patients with a thymoma and many without one"] \
        == "treatment"
    # data-id is not an id; the h2 closes the "treatment" section: back to the page's top.
    assert by_text["Most patients lead a normal life with treatment"] == "top"
    assert all(c.page is None for c in chunks)


def test_markdown_heading_ids_are_read_and_kept_out_of_the_text() -> None:
    doc, chunks = _chunks("lems.md", MARKDOWN)
    assert "{#" not in doc.text and [h.text for h in doc.headings] == [
        "Lambert-Eaton syndrome", "Diagnosis", "Outlook"]
    anchors = {c.heading_path[-1]: c.anchor for c in chunks}
    assert anchors == {"Lambert-Eaton syndrome": "lems", "Diagnosis": "diagnosis",
                       "Outlook": "lems"}


def test_a_citation_of_an_html_source_links_to_its_heading(tmp_path: Path) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "mg.html").write_text(HTML)
    service = Citewise(Settings(sources_dir=folder, index_dir=tmp_path / "ix",
                                _env_file=None), HashingEmbedder())
    service.ingest()
    answer = service.ask("How fast does pyridostigmine improve muscle strength?",
                         mode="extractive")
    cite = next(c for c in answer.citations if "Pyridostigmine" in c.quote)
    assert cite.anchor == "treatment" and cite.page is None
    assert cite.to_json()["anchor"] == "treatment"
    card = render.sources_card(1, cite)
    assert 'href="/source/mg.html#treatment"' in card and "p. " not in card
