"""Answer and citation types, and their JSON form (the `citewise ask --json` schema).

An answer is a list of sentences, each followed by citation markers [n]. Citations are
numbered 1..N in order of first use and every marker resolves to one citation: the
document, its title and heading path, the chunk passage, and the exact supporting sentence
with its character span in the document's cleaned text (`doc_text[start:end] == quote`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from index.hybrid import Hit

ABSTAIN_TEXT = "The sources don't cover this."

Mode = Literal["extractive", "generative"]
"""How an answer is composed: source sentences verbatim, or a model's words, verified."""
ModeChoice = Literal["auto", "extractive", "generative"]
"""A mode as a user asks for it: `auto` is generative when a language model is available."""
MODE_CHOICES: tuple[ModeChoice, ...] = ("auto", "extractive", "generative")


@dataclass(frozen=True)
class Citation:
    id: int
    chunk_id: str
    doc_id: str
    title: str
    heading_path: tuple[str, ...]
    passage: str
    passage_start: int
    quote: str
    start: int
    end: int
    page: int | None = None  # the PDF page the quote starts on (None: not a PDF)
    page_end: int | None = None  # the page it ends on (a quote across a page break)
    anchor: str | None = None  # id of the HTML/Markdown heading above it, if it has one
    ocr: bool = False  # the quote is on a scanned page, read by OCR (ingest/ocr.py)

    def to_json(self) -> dict:
        return {"id": self.id, "source": self.doc_id, "title": self.title,
                "heading_path": list(self.heading_path), "passage": self.passage,
                "quote": self.quote, "start": self.start, "end": self.end,
                "chunk_id": self.chunk_id, "page": self.page, "page_end": self.page_end,
                "anchor": self.anchor, "ocr": self.ocr}


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence and its citation numbers. `supported` is None for an extractive
    sentence (a source sentence verbatim, nothing to check), True or False for a generated
    one after verification; `score` is the retrieval score (extractive) or the support
    score (generative)."""

    text: str
    citations: tuple[int, ...]
    score: float = 0.0
    supported: bool | None = None
    reason: str = ""

    def to_json(self) -> dict:
        return {"text": self.text, "citations": list(self.citations),
                "supported": self.supported, "score": round(self.score, 4),
                "reason": self.reason}


@dataclass(frozen=True)
class Answer:
    question: str
    sentences: tuple[AnswerSentence, ...]
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...]
    abstained: bool
    mode: Mode = "extractive"
    timings: dict[str, float] = field(default_factory=dict)
    generator: str = ""  # the language model, in generative mode
    note: str = ""  # e.g. why a generated answer fell back to source sentences

    @property
    def final_sentences(self) -> tuple[AnswerSentence, ...]:
        """The sentences that make the answer: all but those that failed verification."""
        return tuple(s for s in self.sentences if s.supported is not False)

    @property
    def removed_sentences(self) -> tuple[AnswerSentence, ...]:
        return tuple(s for s in self.sentences if s.supported is False)

    @property
    def text(self) -> str:
        final = self.final_sentences
        if self.abstained or not final:
            return ABSTAIN_TEXT
        return " ".join(s.text + "".join(f" [{n}]" for n in s.citations) for s in final)

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "mode": self.mode,
            "generator": self.generator,
            "note": self.note,
            "sentences": [s.to_json() for s in self.sentences],
            "citations": [c.to_json() for c in self.citations],
            "retrieved": [
                {"rank": r, "source": h.chunk.doc_id, "text": h.chunk.text,
                 "score": round(h.score, 6), "chunk_id": h.chunk.id,
                 "heading_path": list(h.chunk.heading_path)}
                for r, h in enumerate(self.hits, start=1)
            ],
            "timings": {k: round(v, 1) for k, v in self.timings.items()},
        }


@dataclass(frozen=True)
class Draft:
    """A piece of a generated draft, streamed as the model writes it (not yet verified)."""

    text: str


@dataclass(frozen=True)
class Retry:
    """The draft so far failed verification: what was drafted is dropped and the model
    writes again from narrower evidence; `Draft`s of the new attempt follow."""

    reason: str


@dataclass(frozen=True)
class Final:
    """The answer as it is shown: the last event of every answer stream."""

    answer: Answer


AnswerEvent = Draft | Retry | Final
"""What an answer stream yields: any number of `Draft`s (a `Retry` between two attempts),
then exactly one `Final`."""


def final_answer(events) -> Answer:
    """The `Final` answer of an answer stream, its drafts consumed."""
    for event in events:
        if isinstance(event, Final):
            return event.answer
    raise RuntimeError("an answer stream ended without its final answer")
