"""Answer and citation types, and their JSON form (the `citewise ask --json` schema).

An answer is a list of sentences, each followed by citation markers [n]. Citations are
numbered 1..N in order of first use and every marker resolves to one citation: the
document, its title and heading path, the chunk passage, and the exact supporting sentence
with its character span in the document's cleaned text (`doc_text[start:end] == quote`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from index.hybrid import Hit

ABSTAIN_TEXT = "The sources don't cover this."


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

    def to_json(self) -> dict:
        return {"id": self.id, "source": self.doc_id, "title": self.title,
                "heading_path": list(self.heading_path), "passage": self.passage,
                "quote": self.quote, "start": self.start, "end": self.end,
                "chunk_id": self.chunk_id}


@dataclass(frozen=True)
class AnswerSentence:
    text: str
    citations: tuple[int, ...]
    score: float = 0.0


@dataclass(frozen=True)
class Answer:
    question: str
    sentences: tuple[AnswerSentence, ...]
    citations: tuple[Citation, ...]
    hits: tuple[Hit, ...]
    abstained: bool
    mode: str = "extractive"
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        if self.abstained or not self.sentences:
            return ABSTAIN_TEXT
        return " ".join(
            s.text + "".join(f" [{n}]" for n in s.citations) for s in self.sentences)

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "mode": self.mode,
            "citations": [c.to_json() for c in self.citations],
            "retrieved": [
                {"rank": r, "source": h.chunk.doc_id, "text": h.chunk.text,
                 "score": round(h.score, 6), "chunk_id": h.chunk.id,
                 "heading_path": list(h.chunk.heading_path)}
                for r, h in enumerate(self.hits, start=1)
            ],
            "timings": {k: round(v, 1) for k, v in self.timings.items()},
        }
