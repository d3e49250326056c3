"""Extractive answers: the source sentences that best answer the question, each cited.

1. Gather the evidence (`app.answer.evidence`): the question without parts addressed to a
   model, the retrieved chunks' sentences, scored and reranked by the question terms they
   hold. If the best is below `abstain_threshold`, abstain with "The sources don't cover
   this."
2. Pick the best sentence, then up to `max_sentences - 1` more, each time the one whose
   score plus `COVERAGE_WEIGHT` times the share of question terms it adds to the answer is
   highest, if that comes within `margin` of the best score (`select_covering`).
   A question about several sources ("according to both articles") answered from one
   document also gets the best sentence of another retrieved document above the threshold.
3. Expected answer type (`app.answer.quantities`): a question that asks for a dose, a share or
   rate, how common something is, a duration, a count or a gene is answered only by a
   sentence that states that kind of thing and holds `SUBJECT_MATCH` of the question's
   other terms; that sentence leads the answer. A sentence on the topic with another kind
   of figure ("1.6%" for a dose), or with the figure for something else, is no answer.
   Other quantity questions ("how much") keep the older check: some chosen sentence
   states a quantity (`asks_quantity` / `states_quantity`, also used in generative mode).
4. Context (`app.answer.context`): a chosen sentence brings the sentence it refers back to
   ("These include ...") and those that go on from it ("This leads to ..."); a list whose
   lead-in matches the question comes whole, with `LIST_EXTRA` other sentences beside it,
   as one sentence ("Lead-in: item; item.") cited once to the exact span of the list.

Answer sentences are the source sentences verbatim, shown readable (a leading list bullet,
footnote digits glued to words and trailing reference numbers dropped: `Candidate.readable`),
so every statement is exactly what its citation says; the citation's quote and span stay
the exact source text.

With `CITEWISE_MODEL_JUDGE=on`, the language model first judges whether the best two
sentences answer the question (`app.answer.answerability`); if neither does, the answer is a
refusal with a note saying so.

With the responsiveness judge (`app.answer.responsive`), the candidates are those it keeps,
and a sentence after the first must reach `RESPONSIVE_SHARE` of the best candidate's
probability: a sentence on the topic that answers nothing is not added.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace

from app.answer.answerability import NOTE as JUDGED_NOTE
from app.answer.answerability import ModelJudge, judged_answerable
from app.answer.candidate import Candidate, citation
from app.answer.context import ASKS_LIST, as_one, key, matching_list, with_context
from app.answer.evidence import Evidence, gather
from app.answer.quantities import asks_quantity, states_quantity
from app.answer.responsive import Judge
from app.answer.types import Answer, AnswerSentence, Citation
from index.hybrid import Retriever
from index.terms import QuestionTerms

COVERAGE_WEIGHT = 0.3  # of the share of question terms a sentence adds to the answer
RESPONSIVE_SHARE = 0.5  # a sentence after the first needs this share of the best
# candidate's responsiveness (`app.answer.responsive`)
BRIEF = 2  # sentences of a brief answer (the generative fallback)
MAX_CITATIONS = 6  # distinct citations an answer may carry
LIST_EXTRA = 2  # sentences kept beside a list


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


def select_covering(question: str, ranked: list[Candidate], threshold: float,
                    max_sentences: int, margin: float) -> list[Candidate]:
    """Like `select`, but each next sentence is the one that adds most: its score plus
    `COVERAGE_WEIGHT` times the weighted share of question terms it brings that the
    sentences picked so far lack, which must come within `margin` of the best score. So
    a sentence holding a rare question term that the answer misses gets in."""
    if not ranked or ranked[0].score < threshold:
        return []
    qterms = QuestionTerms.of(question, [c.text for c in ranked])
    picked = [ranked[0]]
    covered = qterms.terms(ranked[0].text)
    floor = max(threshold, ranked[0].score - margin)
    responsive = RESPONSIVE_SHARE * max(c.responsive for c in ranked)
    while len(picked) < max_sentences:
        best, best_value = None, floor
        for cand in ranked:
            if cand.score < threshold:
                break
            if cand.responsive < responsive or any(cand.display == p.display
                                                   for p in picked):
                continue
            value = cand.score + COVERAGE_WEIGHT * qterms.share(cand.text, covered)
            if value >= best_value:
                best, best_value = cand, value
        if best is None:
            break
        picked.append(best)
        covered |= qterms.terms(best.text)
    return picked


_ASKS_SOURCES = re.compile(r"\b(?:both|two|all|each|across|several|different) (?:of )?(?:the )?"
                           r"(?:articles|sources|documents|papers|texts|studies|reports)\b",
                           re.IGNORECASE)


def _other_sources(question: str, chosen: list[Candidate], ranked: list[Candidate],
                   threshold: float) -> list[Candidate]:
    """For a question about several sources ("according to both articles") answered from
    one document: that, and the best sentence of another retrieved document if one scores
    above the threshold too."""
    docs = {c.hit.chunk.doc_id for c in chosen}
    if len(docs) != 1 or not _ASKS_SOURCES.search(question):
        return chosen
    other = next((c for c in ranked if c.score >= threshold and c.hit.chunk.doc_id not in docs),
                 None)
    return chosen if other is None else [*chosen, other]


def _without(cands: list[Candidate], drop: list[Candidate]) -> list[Candidate]:
    keys = {key(c) for c in drop}
    return [c for c in cands if key(c) not in keys]


class ExtractiveAnswerer:
    def __init__(self, retriever: Retriever, abstain_threshold: float,
                 max_sentences: int = 4, margin: float = 0.15, judge: Judge | None = None,
                 answer_judge: ModelJudge | None = None):
        self.retriever = retriever
        self.answer_judge = answer_judge
        self.threshold = abstain_threshold
        self.max_sentences = max_sentences
        self.margin = margin
        self.judge = judge

    def answer(self, question: str, k: int, doc_ids: list[str] | None = None) -> Answer:
        evidence = gather(self.retriever, question, k, doc_ids, self.threshold,
                          judge=self.judge)
        timings: dict[str, float] = {}
        if evidence.answerable and not judged_answerable(self.answer_judge, evidence, timings):
            evidence = replace(evidence, ranked=(), answerable=False, note=JUDGED_NOTE)
        answer = self.compose(evidence)
        return replace(answer, timings={**answer.timings, **timings})

    def choose(self, evidence: Evidence, brief: bool = False) -> list[Candidate]:
        """The sentences `compose` makes its answer of, in order; [] to abstain. (Given to
        the model as its only evidence instead of the best-ranked sentences, they made
        worse generative answers on the gold subset: key points 0.79 against 0.85,
        fallback 5 of 19 against 2.)"""
        question, cands, ranked = evidence.question, list(evidence.candidates), \
            list(evidence.ranked)
        chosen: list[Candidate] = []
        if evidence.answerable:
            chosen = select_covering(question, ranked, self.threshold,
                                     BRIEF if brief else self.max_sentences, self.margin)
            chosen = _other_sources(question, chosen, ranked, self.threshold)
            figures = evidence.figures
            if figures is not None:  # the figures asked for lead, or there is no answer
                chosen = list(figures) and list(figures) + _without(chosen, list(figures))
            elif asks_quantity(question) and not any(states_quantity(c.text) for c in chosen):
                chosen = []
        if chosen and brief:
            chosen = chosen[:BRIEF]
        elif chosen:
            chosen = with_context(chosen, cands)
            listed = matching_list(question, cands)
            if listed:  # a list asked for leads; else it follows the best sentence
                rest = _without(chosen, listed)[:LIST_EXTRA]
                listed = as_one(listed)
                chosen = (listed + rest if ASKS_LIST.search(question)
                          else rest[:1] + listed + rest[1:])
        return chosen[:min(self.max_sentences, MAX_CITATIONS)]  # context and lists too

    def compose(self, evidence: Evidence, brief: bool = False) -> Answer:
        """The answer made of `evidence`'s best sentences (see the module docstring).
        `brief`: its best `BRIEF` sentences only, with no list or context around them (the
        generative fallback: a short answer, not a dump of source lines)."""
        t1 = time.perf_counter()
        chosen = self.choose(evidence, brief)
        citations: list[Citation] = []
        sentences: list[AnswerSentence] = []
        for cand in chosen:
            cite = citation(len(citations) + 1, cand)
            citations.append(cite)
            sentences.append(AnswerSentence(cand.readable, (cite.id,), cand.score))
        t2 = time.perf_counter()
        timings = {"retrieve_ms": evidence.retrieve_ms, "answer_ms": (t2 - t1) * 1000}
        return Answer(evidence.asked, tuple(sentences), tuple(citations), evidence.hits,
                      abstained=not chosen, timings=timings, note=evidence.note)
