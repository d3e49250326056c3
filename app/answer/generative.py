"""Generative answers: the model's own words, every sentence verified before it is final.

1. Retrieve and score source sentences exactly as the extractive answerer does
   (`app.answer.extractive`: parts of the question addressed to a model dropped, candidates
   reranked by the question terms they hold). If the best one is below the abstention
   threshold, or the question asks for a figure (a dose, a rate...) that no candidate on
   its subject states, abstain at once: the model is not asked, so it cannot make one up.
   With the responsiveness judge (`app.answer.responsive`) the evidence holds only the
   sentences it keeps, and a question none of them answers is refused the same way. The
   language model then judges whether the best two sentences answer the question
   (`app.answer.answerability`, `CITEWISE_MODEL_JUDGE`); if neither does, it is refused
   with a note saying so, before anything is written.
2. The best `evidence` sentences (default 4), as readable text (no footnote digits), are
   numbered [1]..[n] in a short prompt (`app.answer.prompt`) that also says how to shape
   the answer (`app.answer.shape`: "Yes"/"No" first, every item of a list, the figure
   first), and the model's reply streams out token by token. Each evidence sentence comes
   with the sentence it refers back to and those that go on from it ("This leads to ..."),
   as one numbered line (`app.answer.context.joined`). A question for a list gets
   the list whose lead-in matches it (`app.answer.context`) as its first evidence, whole,
   as one numbered line.
3. If the reply is the fixed no-answer sentence, the answer is an abstention.
4. Otherwise each sentence is checked against the evidence it cites (`app.answer.verify`).
   Supported sentences make the answer, cited to the exact source sentences, numbered in
   order of first use; unsupported ones are kept aside, flagged, for display.
5. Completion: the best sentence the extractive answerer would give (its first; for a list
   question, the whole list) is added verbatim, cited, when the verified answer does not
   say it (holds under `COVERED` of its content words) and has room: a small model often
   answers beside the point, or names two items of a list of seven; with it the answer
   never lacks what the extractive answer leads with. Its `reason` says so. A sentence
   that cites only the list asked for is replaced by the whole list, verbatim (the model
   tends to name some items), once.
6. Repair: if no sentence survives, a `Retry` event is sent and the model writes once more
   from the best `REPAIR_EVIDENCE` sentences only. If none survives that either, the answer
   is the brief extractive one for the same evidence (its best one or two sentences, never
   a list dump), with a note saying so.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

from app.answer.answerability import NOTE as JUDGED_NOTE
from app.answer.answerability import ModelJudge, judged_answerable
from app.answer.candidate import Candidate, citation
from app.answer.context import ASKS_LIST, as_one, joined, matching_list
from app.answer.evidence import Evidence, gather
from app.answer.extractive import ExtractiveAnswerer
from app.answer.prompt import answer_messages
from app.answer.quantities import asks_quantity, states_quantity
from app.answer.responsive import Judge
from app.answer.shape import Shape, question_shape
from app.answer.types import Answer, AnswerEvent, AnswerSentence, Citation, Draft, Final, Retry
from app.answer.verify import CheckedSentence, check_draft, is_refusal
from app.llm.backends import Generator
from index.hybrid import Retriever
from ingest.text import content_words

FALLBACK_NOTE = ("The generated answer could not be verified against the sources, so the "
                 "source sentences are shown instead.")
REPAIR_EVIDENCE = 2  # source sentences of the second, narrower attempt
COMPLETE = 1  # best source sentences added to a verified answer that does not say them
COVERED = 0.8  # share of a source sentence's content words an answer holds when it says it
SOURCE_SENTENCE = "the source's best sentence, added verbatim"
WHOLE_LIST = "the whole list, verbatim, for the items the model chose from it"


class GenerativeAnswerer:
    def __init__(self, retriever: Retriever, generator: Generator, abstain_threshold: float,
                 evidence: int = 4, max_tokens: int = 200, max_sentences: int = 4,
                 judge: Judge | None = None, answer_judge: ModelJudge | None = None):
        self.retriever = retriever
        self.answer_judge = answer_judge
        self.generator = generator
        self.threshold = abstain_threshold
        self.evidence = evidence
        self.max_tokens = max_tokens
        self.judge = judge
        self.max_sentences = max_sentences
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
                  citations: tuple[Citation, ...] = (), note: str = found.note) -> Final:
            return Final(Answer(found.asked, sentences, citations, found.hits, not sentences,
                                mode="generative", timings=timings,
                                generator=self.generator.name, note=note))

        if not found.answerable:
            yield final()
            return
        if figures == () or (figures is None and asks_quantity(question) and not any(
                states_quantity(c.text) for c in ranked[:self.evidence])):
            yield final()  # the figure asked for is stated nowhere
            return
        if not judged_answerable(self.answer_judge, found, timings):
            yield final(note=JUDGED_NOTE)
            return
        shape = question_shape(question)
        evidence, listed = answer_evidence(found, self.evidence, shape)
        attempts = [evidence]
        if len(evidence) > REPAIR_EVIDENCE:
            attempts.append(evidence[:REPAIR_EVIDENCE])
        checked: list[CheckedSentence] = []
        for attempt, evidence in enumerate(attempts):
            timings["attempts"] = attempt + 1
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
        else:
            fallback = self.extractive.compose(found, brief=True)
            yield Final(replace(fallback, timings=timings, generator=self.generator.name,
                                note=FALLBACK_NOTE))
            return
        sentences, citations = _verified(checked, evidence, listed, self.max_sentences)
        sentences, citations = self._completed(found, listed, sentences, citations)
        yield final(tuple(sentences), tuple(citations))

    def _completed(self, found: Evidence, listed: list[Candidate],
                   sentences: list[AnswerSentence], citations: list[Citation]
                   ) -> tuple[list[AnswerSentence], list[Citation]]:
        """The answer with the source's best sentence (the list, for a list question) added
        verbatim when it does not say it and has room (see the module docstring)."""
        if listed:
            best = [(listed[0].readable, citation(0, listed[0]), listed[0].score)]
        else:
            brief = self.extractive.compose(found, brief=True)
            best = [(s.text, c, s.score) for s, c in zip(brief.sentences, brief.citations,
                                                          strict=True)]
        kept = sum(bool(s.supported) for s in sentences)
        said = set().union(*(content_words(s.text) for s in sentences if s.supported))
        for text, source, score in best[:COMPLETE]:
            words = set(content_words(text))
            if kept == self.max_sentences or len(words & said) >= COVERED * len(words) or any(
                    (c.doc_id, c.start) == (source.doc_id, source.start) for c in citations):
                break
            kept += 1
            citations = [*citations, replace(source, id=len(citations) + 1)]
            sentences = [*sentences, AnswerSentence(text, (len(citations),), score, True,
                                                    SOURCE_SENTENCE)]
        return sentences, citations


def _verified(checked: list[CheckedSentence], evidence: list[Candidate],
              listed: list[Candidate], max_sentences: int
              ) -> tuple[list[AnswerSentence], list[Citation]]:
    """The checked sentences as answer sentences, at most `max_sentences` supported ones,
    cited to the exact evidence they cite, numbered in order of first use; a sentence that
    cites only the list asked for becomes the whole list, once."""
    citations: list[Citation] = []
    number: dict[int, int] = {}  # evidence number -> citation id

    def cite(n: int) -> int:
        if n not in number:
            number[n] = len(citations) + 1
            citations.append(citation(number[n], evidence[n - 1]))
        return number[n]

    whole = next((n for n, c in enumerate(evidence, start=1) if listed and c is listed[0]),
                 None)
    sentences: list[AnswerSentence] = []
    kept = 0
    for c in checked:
        if c.supported and kept == max_sentences:
            break
        if not c.supported:
            sentences.append(AnswerSentence(c.text, (), c.score, False, c.reason))
        elif whole is not None and c.cited == (whole,):
            if whole not in number:
                kept += 1
                sentences.append(AnswerSentence(evidence[whole - 1].readable, (cite(whole),),
                                                c.score, True, WHOLE_LIST))
        else:
            kept += 1
            sentences.append(AnswerSentence(c.text, tuple(cite(n) for n in c.cited), c.score,
                                            True, c.reason))
    return sentences, citations


def answer_evidence(found: Evidence, n: int, shape: Shape | None
                    ) -> tuple[list[Candidate], list[Candidate]]:
    """The model's numbered evidence for `found` (at most `n` lines: a matching list first,
    whole, then the figures asked for and the best ranked sentences, each joined with the
    sentences around it that it needs), and the list, if there is one."""
    cands = list(found.candidates)
    listed = (as_one(matching_list(found.question, cands))[:1]
              if shape == "list" or ASKS_LIST.search(found.question) else [])
    lines = [joined(c, cands) for c in list(found.figures or ()) + list(found.ranked)]
    return _evidence(lines, n, listed), listed


def _evidence(cands: list[Candidate], n: int, first: list[Candidate]) -> list[Candidate]:
    """`first`, then the best candidates, `n` in all, with distinct text (the same sentence
    can sit in two documents) and no span inside another's."""
    out: list[Candidate] = []
    for cand in [*first, *cands]:
        if all(cand.display != c.display and not _inside(cand, c) for c in out):
            out.append(cand)
        if len(out) == n:
            break
    return out


def _inside(a: Candidate, b: Candidate) -> bool:
    return a.hit.chunk.doc_id == b.hit.chunk.doc_id and b.start <= a.start and a.end <= b.end
