"""A candidate answer sentence: a source sentence of a retrieved chunk, scored for one
question, and the citation made from it (the one place a `Citation` is made)."""

from __future__ import annotations

from dataclasses import dataclass

from app.answer.types import Citation
from index.hybrid import Hit
from ingest.text import strip_citation_markers


@dataclass(frozen=True)
class Candidate:
    """A source sentence of a retrieved chunk, with its score for this question."""

    hit: Hit
    start: int  # in the document's cleaned text
    end: int
    text: str
    score: float
    responsive: float = 1.0  # the judge's probability that it answers (1.0 when not judged)

    @property
    def display(self) -> str:
        return self.text[2:] if self.text.startswith("• ") else self.text

    @property
    def readable(self) -> str:
        """The sentence as an answer shows it and the model reads it: footnote digits
        glued to words ("cyclophosphamide6") and trailing reference numbers removed, so
        that they are neither copied nor mistaken for figures. Its citation keeps the
        exact source text and span. A list made one candidate (`app.answer.context.as_one`)
        reads as one sentence: "Lead-in: first item; second item."."""
        if "\n" not in self.text:
            return _readable(self.display)
        head, *items = (_readable(line.strip().removeprefix("•").strip())
                        for line in self.text.splitlines() if line.strip())
        if not head.endswith(":") or not items:
            return " ".join([head, *items])
        return f"{head} {'; '.join(i.rstrip('.;,') for i in items)}."


def _readable(sentence: str) -> str:
    return strip_citation_markers(sentence, trailing_numbers=True) or sentence


def citation(cid: int, cand: Candidate) -> Citation:
    """Citation number `cid` for a candidate: its chunk as the passage, the sentence as the
    quote, with its exact span in the document's cleaned text."""
    chunk = cand.hit.chunk
    page, page_end = chunk.page_of(cand.start), chunk.page_of(cand.end - 1)
    ocr = any(page <= p <= page_end for p in chunk.ocr_pages) if page and page_end else False
    return Citation(cid, chunk.id, chunk.doc_id, chunk.title, chunk.heading_path, chunk.text,
                    chunk.start, cand.text, cand.start, cand.end,
                    page=page, page_end=page_end, anchor=chunk.anchor, ocr=ocr)
