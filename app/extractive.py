"""Extractive answers: the source sentences that best answer the question, each cited.

1. Retrieve the top-k chunks (hybrid retrieval). Each hit carries the cosine similarity of
   each of its sentences to the question (sentence vectors are stored at ingest, so nothing
   is embedded here).
2. Candidates are those sentences, each kept once (chunks overlap). List lead-ins
   ("... include:") are not candidates.
   A candidate's score is its similarity minus `RESTATEMENT_PENALTY` times the share of its
   content words that are already in the question: a sentence that only restates the
   question ("The etiology of X is complex") should not outrank one that answers it.
3. If the best candidate's similarity is below `abstain_threshold`, abstain with
   "The sources don't cover this." The threshold is calibrated on the gold set
   (`python -m eval.tune`).
4. Otherwise take the best sentence, then up to `max_sentences - 1` more whose similarity is
   within `margin` of the best and above the threshold, in order of similarity.

Answer sentences are the source sentences verbatim (only a leading list bullet is dropped),
so every statement is exactly what its citation says.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from app.answer import Answer, AnswerSentence, Citation
from index.hybrid import Hit, Retriever
from index.lexical import tokenize

RESTATEMENT_PENALTY = 0.2


@dataclass(frozen=True)
class Candidate:
    hit: Hit
    start: int  # in the document's cleaned text
    end: int
    text: str
    score: float

    @property
    def display(self) -> str:
        return self.text[2:] if self.text.startswith("• ") else self.text


def restatement(sentence: str, question_words: set[str]) -> float:
    """Share of the sentence's content words that the question already has."""
    words = set(tokenize(sentence))
    return len(words & question_words) / len(words) if words else 1.0


def candidates(hits: list[Hit], question: str) -> list[Candidate]:
    """Scored sentences of the retrieved chunks, first occurrence only, best first."""
    question_words = set(tokenize(question))
    seen: set[tuple[str, int]] = set()
    out: list[Candidate] = []
    for hit in hits:
        chunk = hit.chunk
        for s in hit.sentences:
            key = (chunk.doc_id, s.start)
            if key in seen:
                continue
            seen.add(key)
            text = chunk.text[s.start - chunk.start:s.end - chunk.start]
            score = s.score - RESTATEMENT_PENALTY * restatement(text, question_words)
            out.append(Candidate(hit, s.start, s.end, text, score))
    return sorted(out, key=lambda c: -c.score)


def select(cands: list[Candidate], threshold: float, max_sentences: int,
           margin: float) -> list[Candidate]:
    """The answer sentences, or [] to abstain. `cands` must be sorted best first."""
    if not cands or cands[0].score < threshold:
        return []
    floor = max(threshold, cands[0].score - margin)
    picked: list[Candidate] = []
    for cand in cands:
        if len(picked) == max_sentences or cand.score < floor:
            break
        if any(cand.display == p.display for p in picked):
            continue
        picked.append(cand)
    return picked


class ExtractiveAnswerer:
    def __init__(self, retriever: Retriever, abstain_threshold: float,
                 max_sentences: int = 3, margin: float = 0.1):
        self.retriever = retriever
        self.threshold = abstain_threshold
        self.max_sentences = max_sentences
        self.margin = margin

    def answer(self, question: str, k: int, doc_ids: list[str] | None = None) -> Answer:
        t0 = time.perf_counter()
        hits = self.retriever.search(question, k, doc_ids)
        t1 = time.perf_counter()
        chosen = select(candidates(hits, question), self.threshold, self.max_sentences, self.margin)
        citations: list[Citation] = []
        sentences: list[AnswerSentence] = []
        for cand in chosen:
            chunk = cand.hit.chunk
            cite = Citation(len(citations) + 1, chunk.id, chunk.doc_id, chunk.title,
                            chunk.heading_path, chunk.text, chunk.start, cand.text,
                            cand.start, cand.end)
            citations.append(cite)
            sentences.append(AnswerSentence(cand.display, (cite.id,), cand.score))
        t2 = time.perf_counter()
        timings = {"retrieve_ms": (t1 - t0) * 1000, "answer_ms": (t2 - t1) * 1000}
        return Answer(question, tuple(sentences), tuple(citations), tuple(hits),
                      abstained=not chosen, timings=timings)
