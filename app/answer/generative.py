"""Generative answers: the model's own words, every sentence verified before it is final.

1. Retrieve and score source sentences exactly as the extractive answerer does
   (`app.answer.extractive`: parts of the question addressed to a model dropped, candidates
   reranked by the question terms they hold). If the best one is below the abstention
   threshold, or the question asks for a figure (a dose, a rate...) that no candidate on
   its subject states, abstain at once: the model is not asked, so it cannot make one up.
2. The best `evidence` sentences (default 4) are numbered [1]..[n] in a short prompt
   (`app.answer.prompt`), and the model's reply streams out token by token.
3. If the reply is the fixed no-answer sentence, the answer is an abstention.
4. Otherwise each sentence is checked against the evidence it cites (`app.answer.verify`).
   Supported sentences make the answer, cited to the exact source sentences, numbered in
   order of first use; unsupported ones are kept aside, flagged, for display.
5. If no sentence survives, the answer is the extractive one for the same hits, with a
   note saying so.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

from app.answer.evidence import Candidate, citation, gather
from app.answer.extractive import ExtractiveAnswerer
from app.answer.prompt import answer_messages
from app.answer.quantities import asks_quantity, states_quantity
from app.answer.types import Answer, AnswerEvent, AnswerSentence, Citation, Draft, Final
from app.answer.verify import check_draft, is_refusal
from app.llm.backends import Generator
from index.hybrid import Retriever
from ingest.text import strip_citation_markers

FALLBACK_NOTE = ("The generated answer could not be verified against the sources, so the "
                 "source sentences are shown instead.")


class GenerativeAnswerer:
    def __init__(self, retriever: Retriever, generator: Generator, abstain_threshold: float,
                 evidence: int = 4, max_tokens: int = 200, max_sentences: int = 4):
        self.retriever = retriever
        self.generator = generator
        self.threshold = abstain_threshold
        self.evidence = evidence
        self.max_tokens = max_tokens
        self.extractive = ExtractiveAnswerer(retriever, abstain_threshold, max_sentences)

    def stream(self, question: str, k: int, doc_ids: list[str] | None = None
               ) -> Iterator[AnswerEvent]:
        """`Draft` pieces as the model writes, then the `Final` verified answer."""
        t0 = time.perf_counter()
        found = gather(self.retriever, question, k, doc_ids, self.threshold)
        question, ranked, figures = found.question, list(found.ranked), found.figures
        t1 = time.perf_counter()
        timings = {"retrieve_ms": found.retrieve_ms}

        def final(sentences: tuple[AnswerSentence, ...] = (),
                  citations: tuple[Citation, ...] = ()) -> Final:
            return Final(Answer(found.asked, sentences, citations, found.hits, not sentences,
                                mode="generative", timings=timings,
                                generator=self.generator.name))

        if not found.answerable:
            yield final()
            return
        if figures == () or (figures is None and asks_quantity(question) and not any(
                states_quantity(c.text) for c in ranked[:self.evidence])):
            yield final()  # the figure asked for is stated nowhere
            return
        evidence = _evidence(list(figures or ()) + ranked, self.evidence)
        texts = [evidence_text(c) for c in evidence]
        parts: list[str] = []
        first: float | None = None
        for piece in self.generator.stream(answer_messages(question, texts), self.max_tokens):
            if first is None:
                first = time.perf_counter()
                timings["first_token_ms"] = (first - t0) * 1000
            parts.append(piece)
            yield Draft(piece)
        t2 = time.perf_counter()
        timings["generate_ms"] = (t2 - t1) * 1000
        draft = "".join(parts)
        if is_refusal(draft):
            yield final()
            return
        checked = check_draft(draft, texts, [c.hit.chunk.text for c in evidence])
        timings["verify_ms"] = (time.perf_counter() - t2) * 1000
        if not any(c.supported for c in checked):
            fallback = self.extractive.compose(found)
            yield Final(replace(fallback, timings=timings, generator=self.generator.name,
                                note=FALLBACK_NOTE))
            return
        citations: list[Citation] = []
        number: dict[int, int] = {}  # evidence number -> citation id
        sentences: list[AnswerSentence] = []
        for c in checked:
            if not c.supported:
                sentences.append(AnswerSentence(c.text, (), c.score, False, c.reason))
                continue
            ids = []
            for n in c.cited:
                if n not in number:
                    number[n] = len(citations) + 1
                    citations.append(citation(number[n], evidence[n - 1]))
                ids.append(number[n])
            sentences.append(AnswerSentence(c.text, tuple(ids), c.score, True, c.reason))
        yield final(tuple(sentences), tuple(citations))


def _evidence(cands: list[Candidate], n: int) -> list[Candidate]:
    """The best `n` candidates with distinct text (the same sentence can sit in two
    documents)."""
    out: list[Candidate] = []
    for cand in cands:
        if all(cand.display != c.display for c in out):
            out.append(cand)
        if len(out) == n:
            break
    return out


def evidence_text(cand: Candidate) -> str:
    """The sentence as the model sees it and as its claims are checked against: footnote
    digits glued to words ("cyclophosphamide6") and trailing reference numbers removed, so
    that they are neither copied nor mistaken for figures."""
    return strip_citation_markers(cand.display, trailing_numbers=True) or cand.display
