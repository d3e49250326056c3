"""Extractive answers: source sentences that best answer the question, each cited.

1. Retrieve the top-k chunks (hybrid retrieval).
2. Split them into sentences (exact spans in the document) and drop lead-ins ending in ":".
3. Score every sentence by cosine similarity between the question and the sentence,
   embedded with its heading path for context.
4. If the best score is below `abstain_threshold`, abstain: "The sources don't cover this."
5. Otherwise take the best sentence, then up to `max_sentences - 1` more whose score is
   within `margin` of it and above the threshold, skipping near-duplicates.

Answer sentences are the source sentences verbatim (only a leading list bullet is dropped),
so every statement is exactly what its citation says.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from app.answer import Answer, AnswerSentence, Citation
from index.embedder import Embedder
from index.hybrid import Hit, Retriever
from ingest.sentences import split_sentences


@dataclass(frozen=True)
class Candidate:
    hit: Hit
    start: int  # in the document's cleaned text
    end: int
    text: str

    @property
    def display(self) -> str:
        return self.text[2:] if self.text.startswith("• ") else self.text


def candidates(hits: list[Hit]) -> list[Candidate]:
    """Sentences of the retrieved chunks, first occurrence only (chunks overlap)."""
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    for hit in hits:
        chunk = hit.chunk
        for s, e in split_sentences(chunk.text):
            key = (chunk.doc_id, chunk.start + s)
            text = chunk.text[s:e]
            if key in seen or text.endswith(":") or len(text.split()) < 2:
                continue
            seen.add(key)
            out.append(Candidate(hit, chunk.start + s, chunk.start + e, text))
    return out


class ExtractiveAnswerer:
    def __init__(self, retriever: Retriever, embedder: Embedder, abstain_threshold: float,
                 max_sentences: int = 3, margin: float = 0.12, redundancy: float = 0.9):
        self.retriever = retriever
        self.embedder = embedder
        self.threshold = abstain_threshold
        self.max_sentences = max_sentences
        self.margin = margin
        self.redundancy = redundancy

    def answer(self, question: str, k: int, doc_ids: list[str] | None = None) -> Answer:
        t0 = time.perf_counter()
        hits = self.retriever.search(question, k, doc_ids)
        t1 = time.perf_counter()
        cands = candidates(hits)
        chosen: list[tuple[Candidate, float]] = []
        if cands:
            q = self.embedder.embed_query(question)
            vecs = self.embedder.embed_documents([_context(c) for c in cands])
            scores = vecs @ q
            chosen = self._select(cands, vecs, scores)
        t2 = time.perf_counter()
        timings = {"retrieve_ms": (t1 - t0) * 1000, "answer_ms": (t2 - t1) * 1000}
        if not chosen:
            return Answer(question, (), (), tuple(hits), abstained=True, timings=timings)
        citations: list[Citation] = []
        sentences: list[AnswerSentence] = []
        for cand, score in chosen:
            chunk = cand.hit.chunk
            cite = Citation(len(citations) + 1, chunk.id, chunk.doc_id, chunk.title,
                            chunk.heading_path, chunk.text, chunk.start, cand.text,
                            cand.start, cand.end)
            citations.append(cite)
            sentences.append(AnswerSentence(cand.display, (cite.id,), float(score)))
        return Answer(question, tuple(sentences), tuple(citations), tuple(hits),
                      abstained=False, timings=timings)

    def _select(self, cands: list[Candidate], vecs: np.ndarray,
                scores: np.ndarray) -> list[tuple[Candidate, float]]:
        order = np.argsort(-scores, kind="stable")
        best = float(scores[order[0]])
        if best < self.threshold:
            return []
        picked: list[int] = []
        for i in order:
            if len(picked) == self.max_sentences:
                break
            if picked and (scores[i] < max(self.threshold, best - self.margin)):
                break
            if picked and float(np.max(vecs[picked] @ vecs[i])) > self.redundancy:
                continue
            picked.append(int(i))
        return [(cands[i], float(scores[i])) for i in picked]


def _context(cand: Candidate) -> str:
    path = " > ".join(cand.hit.chunk.heading_path[1:])  # the title is too broad to help
    return f"{path}: {cand.display}" if path else cand.display
