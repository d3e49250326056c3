"""Sentence spans and chunking: exact spans, budgets, overlap, heading paths.

No network and no model: tokens are counted with a fake counter (words + 2)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ingest.chunking import ChunkerSettings, chunk_sentences
from ingest.sentences import split_sentences
from tests.ingest_samples import (
    DEFAULT_FILES,
    SETTINGS,
    SMALL,
    body_sentences,
    chunks_of,
    clean_text,
    count_tokens,
    section_index,
    source_doc,
)


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_sentence_spans_exact() -> None:
    text = ("  Fever is common.  Cough is rarer! Is it flu?\n\n"
            "• Rest at home\n• Drink fluids.\nRates were 1.6% in 2020. Dr. Lee agreed.  ")
    spans = split_sentences(text)
    assert len(spans) == 7
    for s, e in spans:
        assert text[s:e] == text[s:e].strip() != ""
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


@pytest.mark.parametrize("text", [
    "Use an NSAID, e.g. Ibuprofen, for the pain.",
    "Give the usual drug, i.e. Aspirin, every day.",
    "Dr. Smith examined the patient.",
    "As Smith et al. Reported, the rate was low.",
    "The prevalence is 1.6% in small cell lung cancer.",
    "Doses of 2.5 mg are used.",
    "Symptoms start slowly. and then worsen.",
])
def test_no_split(text: str) -> None:
    assert sentences(text) == [text]


def test_split_at_stop_and_capital() -> None:
    assert sentences("Fever is common. Cough is rarer! Is it flu? Yes. 2 cases were seen.") == [
        "Fever is common.", "Cough is rarer!", "Is it flu?", "Yes.", "2 cases were seen."]


def test_newline_is_always_a_boundary() -> None:
    assert sentences("A heading with no stop\nbody text goes on\n\nLast line") == [
        "A heading with no stop", "body text goes on", "Last line"]


def test_bullet_lines_are_separate_sentences() -> None:
    text = "Causes include:\n• Small cell lung cancer\n• Thymoma. Rarely lymphoma\n• Ovarian cancer"
    assert sentences(text) == ["Causes include:", "• Small cell lung cancer", "• Thymoma.",
                               "Rarely lymphoma", "• Ovarian cancer"]


def test_split_within_range() -> None:
    text = "Skip this. Take this one. And this.\nNot this."
    start = text.index("Take")
    end = text.index("\n")
    spans = split_sentences(text, start, end)
    assert [text[s:e] for s, e in spans] == ["Take this one.", "And this."]


def test_split_after_dose_unit() -> None:
    assert sentences("Give 5 mg. Repeat after 4 hours.") == ["Give 5 mg.", "Repeat after 4 hours."]


# ---------------------------------------------------------------------------------------------
# 4. Chunking
# ---------------------------------------------------------------------------------------------

DOC_SETTINGS = [
    pytest.param(name, settings.values[0], id=f"{name[:3]}-{settings.id}")
    for name in DEFAULT_FILES for settings in SETTINGS
]


@pytest.mark.parametrize(("name", "settings"), DOC_SETTINGS)
def test_chunk_spans_exact(name: str, settings: ChunkerSettings) -> None:
    doc = source_doc(name)
    chunks = chunks_of(doc, settings)
    assert len(chunks) >= 2
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text
        assert c.text == c.text.strip() != ""
        assert c.doc_id == doc.doc_id and c.title == doc.title


@pytest.mark.parametrize(("name", "settings"), DOC_SETTINGS)
def test_chunks_fit_budget(name: str, settings: ChunkerSettings) -> None:
    for c in chunks_of(source_doc(name), settings):
        assert count_tokens(c.embed_text()) <= settings.chunk_tokens, c.text


def test_max_tokens_caps_budget() -> None:
    doc = source_doc(DEFAULT_FILES[1])
    settings = ChunkerSettings(chunk_tokens=200, overlap_tokens=10, max_tokens=50)
    for c in chunks_of(doc, settings):
        assert count_tokens(c.embed_text()) <= 50


@pytest.mark.parametrize(("name", "settings"), DOC_SETTINGS)
def test_chunks_never_cross_headings(name: str, settings: ChunkerSettings) -> None:
    doc = source_doc(name)
    for c in chunks_of(doc, settings):
        for h in doc.headings:
            assert h.end <= c.start or h.start >= c.end, (h.text, c.text)


@pytest.mark.parametrize(("name", "settings"), DOC_SETTINGS)
def test_every_body_sentence_covered(name: str, settings: ChunkerSettings) -> None:
    doc = source_doc(name)
    covered = [False] * len(doc.text)
    for c in chunks_of(doc, settings):
        covered[c.start:c.end] = [True] * (c.end - c.start)
    sents = body_sentences(doc)
    assert len(sents) >= 20
    for s, e in sents:
        missing = [i for i in range(s, e) if not covered[i] and not doc.text[i].isspace()]
        assert not missing, doc.text[s:e]


@pytest.mark.parametrize(("name", "settings"), DOC_SETTINGS)
def test_consecutive_chunks_overlap_bounded(name: str, settings: ChunkerSettings) -> None:
    doc = source_doc(name)
    chunks = chunks_of(doc, settings)
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.start > a.start  # always moves forward
        if section_index(doc, a.start) != section_index(doc, b.start):
            assert b.start >= a.end  # no overlap across a heading
        elif b.start < a.end:
            assert count_tokens(doc.text[b.start:a.end]) <= settings.overlap_tokens


def test_small_settings_do_overlap() -> None:
    doc = source_doc(DEFAULT_FILES[0])
    chunks = chunks_of(doc, SMALL)
    assert any(b.start < a.end for a, b in zip(chunks, chunks[1:], strict=False))


@pytest.mark.parametrize("name", DEFAULT_FILES)
def test_no_chunk_inside_previous(name: str) -> None:
    chunks = chunks_of(source_doc(name), SMALL)
    inside = [(b.start, b.end) for a, b in zip(chunks, chunks[1:], strict=False)
              if a.start <= b.start and b.end <= a.end]
    assert inside == []


@pytest.mark.parametrize(("name", "settings"), DOC_SETTINGS)
def test_chunk_ids_stable_and_unique(name: str, settings: ChunkerSettings) -> None:
    doc = source_doc(name)
    first = [c.id for c in chunks_of(doc, settings)]
    again = [c.id for c in chunks_of(dataclasses.replace(doc), settings)]
    assert first == again
    assert len(set(first)) == len(first)


def test_chunk_ids_change_with_text() -> None:
    doc = source_doc(DEFAULT_FILES[1])
    old, new = "Neuromuscular disconnection 3", "Neuromuscular Disconnection 3"  # same length
    changed = dataclasses.replace(doc, text=doc.text.replace(old, new))
    before = {c.id: c for c in chunks_of(doc, SMALL)}
    after = {c.id: c for c in chunks_of(changed, SMALL)}
    assert [c.text for c in before.values() if old in c.text]
    new_ids = set(after) - set(before)
    assert new_ids
    assert all(new in after[i].text for i in new_ids)  # only chunks with the edit change
    other = dataclasses.replace(doc, doc_id="other.txt")
    assert not {c.id for c in chunks_of(other, SMALL)} & set(before)


def test_long_sentence_cut_at_word_boundaries(tmp_path: Path) -> None:
    words = [f"term{i}" for i in range(120)]
    sentence = "Findings " + " ".join(words) + " resolved."
    doc = clean_text(tmp_path, f"Long Finding\n\n{sentence}\n")
    chunks = chunks_of(doc, SMALL)
    assert len(chunks) >= 3
    start = doc.text.index("Findings")
    end = start + len(sentence)
    seen: set[str] = set()
    for c in chunks:
        assert count_tokens(c.embed_text()) <= SMALL.chunk_tokens
        assert c.start == start or doc.text[c.start - 1] == " "
        assert c.end == end or doc.text[c.end] == " "
        seen.update(c.text.split())
    assert seen == set(sentence.split())


@pytest.mark.parametrize(("name", "settings"), DOC_SETTINGS)
def test_heading_path_starts_with_title(name: str, settings: ChunkerSettings) -> None:
    doc = source_doc(name)
    for c in chunks_of(doc, settings):
        assert c.heading_path[0] == doc.title
        assert c.embed_text().startswith(" > ".join(c.heading_path) + "\n")


def test_heading_path_names_section() -> None:
    doc = source_doc(DEFAULT_FILES[1])
    section = "Key Factors Contributing to Paraneoplastic Muscle Weakness"
    chunks = [c for c in chunks_of(doc, SMALL) if "Autophagy 3" in c.text]
    assert chunks
    assert all(c.heading_path == (doc.title, section) for c in chunks)


def test_document_without_headings(tmp_path: Path) -> None:
    doc = clean_text(tmp_path, "Fever is common in influenza. Rest and fluids help.\n")
    [chunk] = chunks_of(doc, SMALL)
    assert chunk.heading_path == ()
    assert chunk.embed_text() == chunk.text == doc.text


# chunk_sentences: one entry per sentence of a chunk, for sentence-level retrieval.


@pytest.mark.parametrize(("name", "settings"), DOC_SETTINGS)
def test_chunk_sentences_inside_chunk(name: str, settings: ChunkerSettings) -> None:
    doc = source_doc(name)
    chunks = {c.id: c for c in chunks_of(doc, settings)}
    sents = chunk_sentences(list(chunks.values()))
    assert sents
    assert len({s.id for s in sents}) == len(sents)
    for s in sents:
        chunk = chunks[s.chunk_id]
        assert chunk.start <= s.start < s.end <= chunk.end
        assert doc.text[s.start:s.end] == s.text
        assert s.doc_id == doc.doc_id


def test_chunk_sentences_skip_lead_ins_and_bullets() -> None:
    doc = source_doc(DEFAULT_FILES[1])
    sents = chunk_sentences(chunks_of(doc, ChunkerSettings()))
    texts = [s.text for s in sents]
    lead_in = "Some key factors contributing to paraneoplastic muscle weakness include:"
    assert lead_in in doc.text and lead_in not in texts
    assert not any(t.endswith(":") for t in texts)
    [atrophy] = [s for s in sents if s.text == "• Muscle atrophy 3"]
    assert atrophy.embed_text == "Muscle atrophy 3"
    assert not any(s.embed_text.startswith("•") for s in sents)
    plain = [s for s in sents if not s.text.startswith("• ")]
    assert plain and all(s.embed_text == s.text for s in plain)
