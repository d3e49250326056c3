"""Extractive answers: the source sentences that best answer the question, each cited.

1. Retrieve the top-k chunks (hybrid retrieval). Each hit carries the cosine similarity of
   each of its sentences to the question (sentence vectors are stored at ingest, so nothing
   is embedded here).
2. Candidates are those sentences, each kept once (chunks overlap). List lead-ins
   ("... include:") are not candidates, nor sentences addressed to an AI model ("ignore
   previous instructions and ...", `app.injection`).
   That score is the cosine similarity less a penalty for restating the question (see
   `index.hybrid`).
3. If the best candidate's similarity is below `abstain_threshold`, abstain with
   "The sources don't cover this." The threshold is calibrated on the gold set
   (`python -m eval.tune`).
4. Otherwise take the best sentence, then up to `max_sentences - 1` more whose similarity is
   within `margin` of the best and above the threshold, in order of similarity.
5. Expected answer type: a question that asks for a quantity ("how many", "what
   percentage", "what dose", "survival rate", "how common") is only answered when a chosen
   sentence states one (a number with a unit or %, or words such as "half", "rare"). A
   sentence on the right topic without the asked-for figure is not an answer.

Answer sentences are the source sentences verbatim (only a leading list bullet is dropped),
so every statement is exactly what its citation says.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from app.answer import Answer, AnswerSentence, Citation
from app.injection import is_instruction
from index.hybrid import Hit, Retriever


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


def candidates(hits: list[Hit]) -> list[Candidate]:
    """Scored sentences of the retrieved chunks, first occurrence only, best first."""
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
            if is_instruction(text):  # a prompt injection is not evidence
                continue
            out.append(Candidate(hit, s.start, s.end, text, s.score))
    return sorted(out, key=lambda c: -c.score)


_ASKS_QUANTITY = re.compile(
    r"\b(?:how (?:many|much|often|long|common|frequent|frequently|likely)|"
    r"(?:what|which) (?:is the )?(?:percentage|proportion|fraction|share|dose|dosage|number|"
    r"incidence|prevalence)|(?:survival|mortality|response|success|cure) rates?|doses?|dosage)\b",
    re.IGNORECASE)
_STATES_QUANTITY = re.compile(
    r"\b\d+(?:\.\d+)?\s?(?:%|percent\b|per ?cent\b|mg\b|g\b|ml\b|years?\b|months?\b|"
    r"weeks?\b|days?\b|hours?\b|times\b|sessions?\b|patients\b|cases\b)|"
    r"\b(?:half|a third|a quarter|one in|most|majority|rare|rarely|common|uncommon)\b",
    re.IGNORECASE)


def asks_quantity(question: str) -> bool:
    return bool(_ASKS_QUANTITY.search(question))


def states_quantity(sentence: str) -> bool:
    return bool(_STATES_QUANTITY.search(sentence))


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
                 max_sentences: int = 4, margin: float = 0.15):
        self.retriever = retriever
        self.threshold = abstain_threshold
        self.max_sentences = max_sentences
        self.margin = margin

    def answer(self, question: str, k: int, doc_ids: list[str] | None = None) -> Answer:
        t0 = time.perf_counter()
        hits = self.retriever.search(question, k, doc_ids)
        t1 = time.perf_counter()
        chosen = select(candidates(hits), self.threshold, self.max_sentences, self.margin)
        if asks_quantity(question) and not any(states_quantity(c.text) for c in chosen):
            chosen = []
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
