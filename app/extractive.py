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

import math
import re
import time
from dataclasses import dataclass

from app.answer import Answer, AnswerSentence, Citation
from app.answer_types import asked_quantities, asked_words, states
from app.injection import is_instruction
from index.hybrid import Hit, Retriever
from index.lexical import tokenize
from ingest.sentences import split_sentences

LEXICAL_WEIGHT = 0.2


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


def _terms(text: str) -> set[str]:
    return {t for t in tokenize(text) if len(t) > 1}


def term_weights(question: str, cands: list[Candidate]) -> dict[str, float]:
    """The question's terms that occur in some candidate, weighted by rarity among them."""
    sent_terms = [_terms(c.text) for c in cands]
    n = len(cands)
    weights = {}
    for t in _terms(question):
        df = sum(t in st for st in sent_terms)
        if df:
            weights[t] = math.log(1 + n / df)
    return weights


def term_share(text: str, weights: dict[str, float]) -> float:
    total = sum(weights.values())
    terms = _terms(text)
    return sum(w for t, w in weights.items() if t in terms) / total if total else 0.0


def rerank(question: str, cands: list[Candidate]) -> list[Candidate]:
    """`cands` rescored: the retrieval score plus `LEXICAL_WEIGHT` times the share of the
    question's terms (weighted by rarity among the candidates) that the sentence has."""
    weights = term_weights(question, cands)
    out = [Candidate(c.hit, c.start, c.end, c.text,
                     c.score + LEXICAL_WEIGHT * term_share(c.text, weights)) for c in cands]
    return sorted(out, key=lambda c: -c.score)


LIST_MATCH = 0.5
MAX_LIST_ITEMS = 8
_ASKS_LIST = re.compile(r"\b(?:list|listed|lists|includes?|included|enumerat\w*)\b",
                        re.IGNORECASE)


def _next_item(item: Candidate, starts: dict[tuple[str, int], Candidate]) -> Candidate | None:
    """The list item on the line after `item` (it may sit in another retrieved chunk)."""
    for gap in range(1, 4):
        nxt = starts.get((item.hit.chunk.doc_id, item.end + gap))
        if nxt is not None:
            return nxt if nxt.text.startswith("• ") else None
    return None


def matching_list(question: str, cands: list[Candidate]) -> list[Candidate]:
    """The lead-in and items of the list whose lead-in ("... include:", with the rest of its
    line and the section heading) best matches the question, if one matches well."""
    weights = term_weights(question, cands)
    with_items = bool(_ASKS_LIST.search(question))
    starts = {(c.hit.chunk.doc_id, c.start): c for c in cands}
    best: tuple[tuple[float, float], list[Candidate]] = ((LIST_MATCH, 0.0), [])
    seen: set[str] = set()
    for cand in cands:
        chunk = cand.hit.chunk
        if chunk.id in seen:
            continue
        seen.add(chunk.id)
        spans = split_sentences(chunk.text)
        for i, (s, e) in enumerate(spans):
            if not chunk.text[s:e].endswith(":") or i + 1 == len(spans):
                continue
            item = starts.get((chunk.doc_id, chunk.start + spans[i + 1][0]))
            items = []
            while item is not None and item.text.startswith("• ") \
                    and len(items) < MAX_LIST_ITEMS:
                items.append(item)
                item = _next_item(item, starts)
            if len(items) < 2:
                continue
            line_start = chunk.text.rfind("\n", 0, s) + 1
            lead_in = " ".join((chunk.heading_path[-1] if chunk.heading_path else "",
                                chunk.text[line_start:e]))
            context = " ".join((lead_in,
                                *([i.text for i in items] if with_items else [])))
            # ties (say, two lists that both hold the question's words) go to the lead-in
            share = (term_share(context, weights), term_share(lead_in, weights))
            if share > best[0]:
                lead = Candidate(cand.hit, chunk.start + s, chunk.start + e, chunk.text[s:e],
                                 items[0].score)
                best = (share, [lead, *items])
    return best[1]


_ANAPHOR = re.compile(r"(?:This|These|Those|Such|They|Their|Both|The latter|"
                      r"The former)\b")
MAX_CONTEXT = 1


def _neighbour(cand: Candidate, by_pos: dict[tuple[str, int], Candidate],
               ends: dict[tuple[str, int], Candidate]) -> tuple[Candidate | None,
                                                                 Candidate | None]:
    """The sentence before `cand` and the one after it on the same line of the same chunk."""
    chunk = cand.hit.chunk
    text = chunk.text
    before = after = None
    # the previous sentence ends just before cand.start (separated by spaces only)
    i = cand.start - chunk.start
    j = i
    while j > 0 and text[j - 1] == " ":
        j -= 1
    if j < i and j > 0:
        before = ends.get((chunk.doc_id, chunk.start + j))
    i = cand.end - chunk.start
    j = i
    while j < len(text) and text[j] == " ":
        j += 1
    if j > i and j < len(text):
        after = by_pos.get((chunk.doc_id, chunk.start + j))
    return before, after


def with_context(chosen: list[Candidate], cands: list[Candidate]) -> list[Candidate]:
    """Each chosen sentence with the sentence it refers back to ("These include ...": the
    one before) and the one that carries it on ("This leads to ...": the one after)."""
    by_pos = {(c.hit.chunk.doc_id, c.start): c for c in cands}
    ends = {(c.hit.chunk.doc_id, c.end): c for c in cands}
    out: list[Candidate] = []
    seen: set[tuple[str, int]] = set()

    def add(c: Candidate) -> None:
        key = (c.hit.chunk.doc_id, c.start)
        if key not in seen:
            seen.add(key)
            out.append(c)

    for cand in chosen:
        before, after = _neighbour(cand, by_pos, ends)
        if before is not None and _ANAPHOR.match(cand.display):
            add(before)
        add(cand)
        if after is not None and _ANAPHOR.match(after.display):
            add(after)
    return out


SUBJECT_MATCH = 0.5


def quantity_answers(question: str, ranked: list[Candidate]) -> list[Candidate] | None:
    """For a question that asks for a quantity: the best sentence stating each kind asked
    for that is about the question's subject (it has `SUBJECT_MATCH` of the weight of the
    question's other terms); None if the question asks for none; [] if some kind is missing."""
    kinds = asked_quantities(question)
    if not kinds:
        return None
    named = _terms(asked_words(question))
    weights = {t: w for t, w in term_weights(question, ranked).items() if t not in named}
    out: list[Candidate] = []
    for kind in kinds:
        found = next((c for c in ranked if states(c.text, kind)
                      and term_share(c.text, weights) >= SUBJECT_MATCH), None)
        if found is None:
            return []
        if found not in out:
            out.append(found)
    return out


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
        cands = candidates(hits)
        chosen: list[Candidate] = []
        if cands and cands[0].score >= self.threshold:
            ranked = rerank(question, cands)
            chosen = select(ranked, self.threshold, self.max_sentences, self.margin)
            figures = quantity_answers(question, ranked)
            if figures is not None:
                keys = {(c.hit.chunk.doc_id, c.start) for c in figures}
                chosen = [] if not figures else figures + [
                    c for c in chosen if (c.hit.chunk.doc_id, c.start) not in keys]
            elif asks_quantity(question) and not any(states_quantity(c.text) for c in chosen):
                chosen = []
        if chosen:
            chosen = with_context(chosen, cands)
            listed = matching_list(question, cands)
            if listed:
                keys = {(c.hit.chunk.doc_id, c.start) for c in listed}
                chosen = listed + [c for c in chosen if (c.hit.chunk.doc_id, c.start) not in keys]
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
