"""Extractive answers: selection, abstention, citation numbering and the JSON schema."""

from __future__ import annotations

import pytest

from app.answer import ABSTAIN_TEXT
from app.extractive import Candidate, select
from app.service import Citewise
from index.hybrid import Hit, restatement
from index.lexical import tokenize
from ingest.types import Chunk

CHUNK = Chunk("c1", "doc.txt", "Title", ("Title",), 0, 10, "x" * 10)


def cand(text: str, score: float, start: int = 0) -> Candidate:
    return Candidate(Hit(CHUNK, 1.0), start, start + len(text), text, score)


def test_select_abstains_below_threshold() -> None:
    assert select([cand("a b c", 0.30)], threshold=0.4, max_sentences=3, margin=0.1) == []
    assert select([], threshold=0.4, max_sentences=3, margin=0.1) == []


def test_select_keeps_sentences_within_margin_up_to_max() -> None:
    cands = [cand("one", 0.9), cand("two", 0.85, 10), cand("three", 0.82, 20),
             cand("four", 0.81, 30), cand("five", 0.5, 40)]
    assert [c.text for c in select(cands, 0.4, 3, 0.1)] == ["one", "two", "three"]
    assert [c.text for c in select(cands, 0.4, 5, 0.1)] == ["one", "two", "three", "four"]


def test_select_never_repeats_a_sentence() -> None:
    cands = [cand("• same words", 0.9), cand("same words", 0.89, 50)]
    assert len(select(cands, 0.4, 3, 0.1)) == 1


def test_restatement_share() -> None:
    question = set(tokenize("What causes paraneoplastic muscle weakness?"))
    assert restatement("Paraneoplastic muscle weakness is complex.", question) == \
        pytest.approx(3 / 4)
    assert restatement("Antibodies attack calcium channels.", question) == 0.0


def test_answer_citations_resolve_to_exact_passages(service: Citewise) -> None:
    service.ingest()
    answer = service.ask("Which antibodies characterize LEMS voltage-gated calcium channels?")
    assert not answer.abstained
    assert [c.id for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    for citation in answer.citations:
        doc_text = service.index.manifest.doc_text(citation.doc_id)
        assert doc_text[citation.start:citation.end] == citation.quote
        assert citation.quote in citation.passage
        assert citation.heading_path[0] == citation.title
    markers = [n for s in answer.sentences for n in s.citations]
    assert sorted(set(markers)) == [c.id for c in answer.citations]
    assert all(f"[{n}]" in answer.text for n in markers)


def test_unrelated_question_abstains_with_no_citations(service: Citewise) -> None:
    service.ingest()
    answer = service.ask("Who won the football world cup?")
    assert answer.abstained and answer.citations == () and answer.text == ABSTAIN_TEXT


def test_json_schema(service: Citewise) -> None:
    service.ingest()
    data = service.ask("voltage-gated calcium channels LEMS", k=3).to_json()
    assert {"question", "answer", "abstained", "mode", "citations", "retrieved",
            "timings"} <= set(data)
    assert data["mode"] == "extractive"
    assert [r["rank"] for r in data["retrieved"]] == [1, 2, 3]
    assert {"rank", "source", "text", "score"} <= set(data["retrieved"][0])
    assert {"id", "source", "title", "passage", "quote", "start", "end"} <= \
        set(data["citations"][0])
    assert {"retrieve_ms", "answer_ms"} <= set(data["timings"])


def test_document_filter(service: Citewise) -> None:
    service.ingest()
    answer = service.ask("neuropathy cancer", doc_ids=["004_5e456227b6f932b4.txt"])
    assert {h.chunk.doc_id for h in answer.hits} == {"004_5e456227b6f932b4.txt"}
