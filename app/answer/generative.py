"""Generative answers: the model's own words, every sentence verified before it is final.

1. Retrieve and score source sentences exactly as the extractive answerer does
   (`app.answer.extractive`: parts of the question addressed to a model dropped, candidates
   reranked by the question terms they hold). If the best one is below the abstention
   threshold, or the question asks for a figure (a dose, a rate...) that no candidate on
   its subject states, abstain at once: the model is not asked, so it cannot make one up.
   With the responsiveness judge (`app.answer.responsive`) the evidence holds only the
   sentences it keeps, and a question none of them answers is refused the same way.
2. The best `evidence` sentences (default 4), as readable text (no footnote digits), are
   numbered [1]..[n] in a short prompt (`app.answer.prompt`) that also says how to shape
   the answer (`app.answer.shape`: "Yes"/"No" first, every item of a list, the figure
   first), and the model's reply streams out token by token. A question for a list gets
   the list whose lead-in matches it (`app.answer.context`) as its first evidence, whole,
   as one numbered line.
3. If the reply is the fixed no-answer sentence, the answer is an abstention.
4. Otherwise each sentence is checked against the evidence it cites (`app.answer.verify`).
   Supported sentences make the answer, cited to the exact source sentences, numbered in
   order of first use; unsupported ones are kept aside, flagged, for display.
5. Repair: if no sentence survives, a `Retry` event is sent and the model writes once more
   from the best `REPAIR_EVIDENCE` sentences only. If none survives that either, the answer
   is the brief extractive one for the same evidence (its best one or two sentences, never
   a list dump), with a note saying so.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

from app.answer.candidate import Candidate, citation
from app.answer.context import ASKS_LIST, as_one, matching_list
from app.answer.evidence import gather
from app.answer.extractive import ExtractiveAnswerer
from app.answer.prompt import answer_messages
from app.answer.quantities import asks_quantity, states_quantity
from app.answer.responsive import Judge
from app.answer.shape import question_shape
from app.answer.types import Answer, AnswerEvent, AnswerSentence, Citation, Draft, Final, Retry
from app.answer.verify import CheckedSentence, check_draft, is_refusal
from app.llm.backends import Generator
from index.hybrid import Retriever

FALLBACK_NOTE = ("The generated answer could not be verified against the sources, so the "
                 "source sentences are shown instead.")
REPAIR_EVIDENCE = 2  # source sentences of the second, narrower attempt


class GenerativeAnswerer:
    def __init__(self, retriever: Retriever, generator: Generator, abstain_threshold: float,
                 evidence: int = 4, max_tokens: int = 200, max_sentences: int = 4,
                 judge: Judge | None = None):
        self.retriever = retriever
        self.generator = generator
        self.threshold = abstain_threshold
        self.evidence = evidence
        self.max_tokens = max_tokens
        self.judge = judge
        self.extractive = ExtractiveAnswerer(retriever, abstain_threshold, max_sentences,
                                             judge=judge)

    def stream(self, question: str, k: int, doc_ids: list[str] | None = None
               ) -> Iterator[AnswerEvent]:
        """`Draft` pieces as the model writes, then the `Final` verified answer."""
        t0 = time.perf_counter()
        found = gather(self.retriever, question, k, doc_ids, self.threshold, judge=self.judge)
        question, ranked, figures = found.question, list(found.ranked), found.figures
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
        shape = question_shape(question)
        listed = (as_one(matching_list(question, list(found.candidates)))[:1]
                  if shape == "list" or ASKS_LIST.search(question) else [])
        evidence = _evidence(list(figures or ()) + listed + ranked, self.evidence)
        attempts = [evidence]
        if len(evidence) > REPAIR_EVIDENCE:
            attempts.append(evidence[:REPAIR_EVIDENCE])
        checked: list[CheckedSentence] = []
        for attempt, evidence in enumerate(attempts):
            if attempt:
                yield Retry("The draft could not be verified against the sources: writing "
                            f"it again from the best {len(evidence)} source sentences.")
            texts = [c.readable for c in evidence]
            parts: list[str] = []
            t1 = time.perf_counter()
            for piece in self.generator.stream(answer_messages(question, texts, shape),
                                               self.max_tokens):
                if "first_token_ms" not in timings:
                    timings["first_token_ms"] = (time.perf_counter() - t0) * 1000
                parts.append(piece)
                yield Draft(piece)
            t2 = time.perf_counter()
            timings["generate_ms"] = timings.get("generate_ms", 0.0) + (t2 - t1) * 1000
            draft = "".join(parts)
            if is_refusal(draft):
                yield final()
                return
            checked = check_draft(draft, texts, [c.hit.chunk.text for c in evidence])
            timings["verify_ms"] = timings.get("verify_ms", 0.0) + (
                time.perf_counter() - t2) * 1000
            if any(c.supported for c in checked):
                break
            timings["attempts"] = attempt + 2
        else:
            fallback = self.extractive.compose(found, brief=True)
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
