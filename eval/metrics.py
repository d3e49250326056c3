"""Evaluation metrics for citewise, as pure functions over plain data.

Nothing here loads a model; a support decision is passed in as a function
``supports(sentence, passages) -> bool`` (for example ``SupportChecker().supports`` from
``app.answer.support``). Text helpers come from ``ingest.text``.

Quote matching
--------------
``quote_in(passage, quote)`` is true when the normalised quote (``ingest.text.normalise``: case,
quotes, dashes and whitespace unified) is a substring of the normalised passage. A quote cut
by a chunk boundary also counts: true when a contiguous piece of the quote covering at least
``BOUNDARY_SHARE`` (60%) of the quote's normalised length sits at the very start or the very
end of the passage, i.e. the passage *starts with a suffix* of the quote, *ends with a prefix*
of the quote, or is *entirely* a piece of the quote (a chunk shorter than the quote). A piece
in the middle of the passage does not count. An empty quote is never found.

Retrieval (one question)
------------------------
``retrieved`` is the list of passage texts in rank order, ``quotes`` the gold quotes. Each gold
quote is one relevant item; a passage is *relevant* when it contains at least one gold quote
(``quote_in``). Ranks start at 1. All return a float in [0, 1], or ``None`` when ``quotes`` is
empty: an unanswerable question has no relevant items, so retrieval metrics are undefined and
must be *skipped* when averaging (``mean_defined``), not counted as 0 or 1. ``k`` must be >= 1.

* ``hit_at_1``: 1.0 if the rank-1 passage is relevant, else 0.0.
* ``recall_at_k``: share of gold quotes contained in at least one of the top ``k`` passages.
* ``mrr_at_k``: 1 / rank of the first relevant passage within the top ``k``; 0.0 if none.
* ``ndcg_at_k``: binary relevance per passage, ``DCG = sum_{i=1..k} rel_i / log2(i + 1)`` over
  the passages actually retrieved (fewer than ``k`` is fine: missing ranks add 0). The ideal
  DCG puts a relevant item at each of the first ``min(k, len(quotes))`` ranks,
  ``IDCG = sum_{i=1..min(k, n_quotes)} 1 / log2(i + 1)`` (not normalised by ``k``). When more
  passages are relevant than there are gold quotes (duplicate or overlapping chunks), DCG can
  exceed IDCG; the ratio is capped at 1.0.

Key points
----------
``key_point_covered(answer, key_point)``: at least ``KEY_POINT_SHARE`` (80%) of the key point's
distinct content words (``ingest.text.content_words``, stemmed, stop words dropped) occur among the
answer's content words. A key point without content words is covered when its normalised text
is a substring of the normalised answer. ``key_point_coverage`` is the share of key points
covered (``None`` for an empty list).

Answer precision
----------------
How much of an answer is on point. A sentence is compared with its question's gold key
points and quotes after ``ingest.text.strip_citation_markers`` (on the sentence and on the
quote alike: the answer's own ``[n]`` markers, markers copied from a source, glued footnote
digits and trailing reference numbers all go). It is *precise* (``sentence_precise``) when

* it **carries a key point**: ``key_point_covered(sentence, key_point)`` for some key point,
  i.e. the key-point rule above applied to the sentence alone (at least 80% of the key
  point's distinct content words occur among the sentence's content words); or
* it **lies within a gold quote** (``within_quote(sentence, quote)``): the normalised
  sentence is a substring of the normalised quote, or at least ``WITHIN_QUOTE_SHARE`` (80%)
  of the sentence's distinct content words occur among the quote's content words. The share
  is taken of the *sentence's* words, so a sentence that restates part of a long quote in
  other order or with a word changed counts, while one that adds a claim of its own brings
  words the quote lacks and does not; a sentence that merely contains a short quote and says
  more is not within it (it is precise only if it carries a key point). A sentence without
  content words lies within a quote only as a substring. 80% is the key-point share: on a
  sentence of 5 to 15 content words it allows 1 to 3 words of rewording or connection that
  the quote lacks, and no second claim.

``answer_precision(answers)``, over ``GradedAnswer(sentences, key_points, quotes)`` items (one
per answered, answerable question): precise sentences / all sentences, pooled over the
answers (a long answer weighs by its sentence count); ``None`` when there is no sentence.

Answer shape
------------
Computed in ``eval.scoring.shape_metrics`` from each record's ``citewise ask --json`` object,
over answered (not abstained) answerable questions; ``None`` when there is none.

* ``sentences_per_answer``: mean number of sentences shown as the answer
  (``Answer.final_sentences``: a generated sentence that failed verification is not counted).
* ``citations_per_answer``: mean number of *distinct* citation numbers those sentences carry.
* ``fallback_rate`` (generative mode only): share of answerable questions, abstained ones
  included, whose generated answer could not be verified and fell back to source sentences
  (``Answer.note == app.answer.generative.FALLBACK_NOTE``); not reported in extractive mode,
  where there is nothing to fall back from.

Abstention
----------
``abstention_metrics(records)``, each record with ``answerable`` and ``abstained`` booleans:

* ``abstention_accuracy``: abstained / unanswerable questions (refusal rate where refusing is
  right); ``None`` when there is no unanswerable question.
* ``false_refusal_rate``: abstained / answerable questions; ``None`` when there is none.

Citations (ALCE, Gao et al. 2023, "Enabling Large Language Models to Generate Text with
Citations")
-----------------------------------------------------------------------------------------
An answer is a sequence of ``CitedSentence(text, passages)``, ``passages`` being the texts of
the passages the sentence cites. ``supports(sentence, passages)`` judges whether the passages,
taken together, support the sentence; an empty passage list never supports.

* ``citation_recall``: share of sentences whose cited passages together support them. A
  sentence without citations counts as unsupported (as in ALCE). ``None`` for no sentences.
* ``citation_precision``: share of all citations that are needed. Citation ``c`` of sentence
  ``s`` is *precise* when ``supports(s, [c])`` (it supports the sentence alone) OR when
  ``supports(s, all citations)`` and not ``supports(s, all citations except c)`` (removing it
  breaks the support). Otherwise it is *irrelevant*. With a monotone ``supports`` this is the
  ALCE definition (ALCE also requires the joint support for the first case, which a monotone
  judge implies). ``None`` when there are no citations.
* ``dangling_citations(answer_text, n_citations)``: number of citation numbers in ``[n]``
  markers (also lists ``[1, 3]`` and ranges ``[1-3]``, each number counted) with ``n`` outside
  ``1..n_citations``.

Faithfulness
------------
* ``faithfulness(cited_sentences, supports)``: share of sentences supported by the passages
  they cite; uncited sentences are unsupported. By construction this is the same quantity as
  ``citation_recall``; it is kept under its own name for the report.
* ``ungrounded_numbers(sentence, passages)``: the ``ingest.text.numbers`` of the sentence that
  occur in none of the passages. A number with a unit or percent must match exactly
  (``"2 year"``, ``"1.6%"``); a bare number in the sentence (``"2"``) is grounded by any
  passage number with the same value (``"2 year"``). Citation markers ``[n]`` are ignored.

Latency
-------
``percentile(values, p)``: linear interpolation between closest ranks (the default method of
``numpy.percentile``): with the values sorted, ``x = (n - 1) * p / 100``, result
``v[floor(x)] + (v[ceil(x)] - v[floor(x)]) * (x - floor(x))``. ``p`` in [0, 100].
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ingest.text import citation_numbers, content_words, normalise, strip_citation_markers

BOUNDARY_SHARE = 0.6
KEY_POINT_SHARE = 0.8
WITHIN_QUOTE_SHARE = 0.8

SupportFn = Callable[[str, Sequence[str]], bool]


# --------------------------------------------------------------------------- quote matching


def quote_in(passage: str, quote: str) -> bool:
    """True if ``passage`` contains ``quote`` (normalised), tolerating a chunk-boundary cut."""
    p, q = normalise(passage), normalise(quote)
    if not q or not p:
        return False
    if q in p:
        return True
    need = math.ceil(BOUNDARY_SHARE * len(q))
    if need <= len(p) < len(q) and p in q:
        return True
    for size in range(min(len(q) - 1, len(p)), need - 1, -1):
        if p.startswith(q[-size:]) or p.endswith(q[:size]):
            return True
    return False


# --------------------------------------------------------------------------- retrieval


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")


def _relevant(retrieved: Sequence[str], quotes: Sequence[str]) -> list[bool]:
    return [any(quote_in(p, q) for q in quotes) for p in retrieved]


def hit_at_1(retrieved: Sequence[str], quotes: Sequence[str]) -> float | None:
    """1.0 if the first passage contains a gold quote, else 0.0; None without gold quotes."""
    if not quotes:
        return None
    return 1.0 if retrieved and _relevant(retrieved[:1], quotes)[0] else 0.0


def recall_at_k(retrieved: Sequence[str], quotes: Sequence[str], k: int) -> float | None:
    """Share of gold quotes found in the top ``k`` passages; None without gold quotes."""
    _check_k(k)
    if not quotes:
        return None
    top = retrieved[:k]
    found = sum(1 for q in quotes if any(quote_in(p, q) for p in top))
    return found / len(quotes)


def mrr_at_k(retrieved: Sequence[str], quotes: Sequence[str], k: int = 10) -> float | None:
    """1 / rank of the first relevant passage in the top ``k`` (0.0 if none); None w/o quotes."""
    _check_k(k)
    if not quotes:
        return None
    for rank, rel in enumerate(_relevant(retrieved[:k], quotes), start=1):
        if rel:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(retrieved: Sequence[str], quotes: Sequence[str], k: int = 10) -> float | None:
    """Binary-relevance nDCG@k with IDCG over min(k, len(quotes)) ranks; None w/o quotes."""
    _check_k(k)
    if not quotes:
        return None
    dcg = sum(
        1.0 / math.log2(rank + 1)
        for rank, rel in enumerate(_relevant(retrieved[:k], quotes), start=1)
        if rel
    )
    idcg = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(k, len(quotes)) + 1))
    return min(1.0, dcg / idcg)


def mean_defined(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None (None if there are none)."""
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


# --------------------------------------------------------------------------- key points


def key_point_covered(answer: str, key_point: str) -> bool:
    """True if >= 80% of the key point's distinct content words occur in the answer."""
    kp = set(content_words(key_point))
    if not kp:
        return normalise(key_point) in normalise(answer)
    present = kp & set(content_words(answer))
    return len(present) >= KEY_POINT_SHARE * len(kp) - 1e-9


def key_point_coverage(answer: str, key_points: Sequence[str]) -> float | None:
    """Share of ``key_points`` covered by ``answer``; None for no key points."""
    if not key_points:
        return None
    return sum(key_point_covered(answer, kp) for kp in key_points) / len(key_points)


# --------------------------------------------------------------------------- answer precision


def within_quote(sentence: str, quote: str) -> bool:
    """True if the sentence (markers stripped) is inside the quote: a normalised substring,
    or >= 80% of the sentence's distinct content words among the quote's."""
    s, q = strip_citation_markers(sentence), strip_citation_markers(quote)
    ns, nq = normalise(s), normalise(q)
    if not ns or not nq:
        return False
    if ns in nq:
        return True
    words = set(content_words(s))
    if not words:
        return False
    inside = words & set(content_words(q))
    return len(inside) >= WITHIN_QUOTE_SHARE * len(words) - 1e-9


def sentence_precise(sentence: str, key_points: Sequence[str], quotes: Sequence[str]) -> bool:
    """True if the sentence carries a gold key point or lies within a gold quote."""
    s = strip_citation_markers(sentence)
    return (any(key_point_covered(s, kp) for kp in key_points)
            or any(within_quote(s, q) for q in quotes))


@dataclass(frozen=True)
class GradedAnswer:
    """The sentences of one answer and the gold key points and quotes of its question."""

    sentences: tuple[str, ...]
    key_points: tuple[str, ...] = ()
    quotes: tuple[str, ...] = ()


def answer_precision(answers: Iterable[GradedAnswer]) -> float | None:
    """Precise sentences / all sentences, pooled over ``answers``; None for no sentence."""
    total = precise = 0
    for a in answers:
        total += len(a.sentences)
        precise += sum(sentence_precise(s, a.key_points, a.quotes) for s in a.sentences)
    return precise / total if total else None


# --------------------------------------------------------------------------- abstention


class AbstentionRecordLike(Protocol):
    @property
    def answerable(self) -> bool: ...

    @property
    def abstained(self) -> bool: ...


@dataclass(frozen=True)
class AbstentionRecord:
    answerable: bool
    abstained: bool


@dataclass(frozen=True)
class AbstentionMetrics:
    abstention_accuracy: float | None
    """Share of unanswerable questions on which the system abstained."""
    false_refusal_rate: float | None
    """Share of answerable questions on which the system abstained."""
    n_answerable: int
    n_unanswerable: int


def abstention_metrics(records: Iterable[AbstentionRecordLike]) -> AbstentionMetrics:
    """Refusal rate on unanswerable and false-refusal rate on answerable questions."""
    recs = list(records)
    ans = [r for r in recs if r.answerable]
    unans = [r for r in recs if not r.answerable]
    return AbstentionMetrics(
        abstention_accuracy=sum(r.abstained for r in unans) / len(unans) if unans else None,
        false_refusal_rate=sum(r.abstained for r in ans) / len(ans) if ans else None,
        n_answerable=len(ans),
        n_unanswerable=len(unans),
    )


# --------------------------------------------------------------------------- citations


@dataclass(frozen=True)
class CitedSentence:
    """One answer sentence and the texts of the passages it cites."""

    text: str
    passages: tuple[str, ...] = ()


def _supported(supports: SupportFn, sentence: str, passages: Sequence[str]) -> bool:
    return bool(passages) and supports(sentence, passages)


def citation_recall(sentences: Sequence[CitedSentence], supports: SupportFn) -> float | None:
    """Share of sentences supported by their citations together; None for no sentences."""
    if not sentences:
        return None
    return sum(_supported(supports, s.text, s.passages) for s in sentences) / len(sentences)


def citation_precision(sentences: Sequence[CitedSentence], supports: SupportFn) -> float | None:
    """Share of citations that are needed (ALCE); None when there are no citations."""
    total = 0
    precise = 0
    for s in sentences:
        cites = list(s.passages)
        if not cites:
            continue
        total += len(cites)
        joint = _supported(supports, s.text, cites)
        for i, c in enumerate(cites):
            alone = _supported(supports, s.text, [c])
            needed = joint and not _supported(supports, s.text, cites[:i] + cites[i + 1 :])
            precise += alone or needed
    return precise / total if total else None


def dangling_citations(answer_text: str, n_citations: int) -> int:
    """Number of citation numbers outside ``1..n_citations``."""
    return sum(1 for n in citation_numbers(answer_text) if not 1 <= n <= n_citations)


# --------------------------------------------------------------------------- faithfulness


def faithfulness(cited_sentences: Sequence[CitedSentence], supports: SupportFn) -> float | None:
    """Share of sentences supported by the passages they cite; None for no sentences."""
    return citation_recall(cited_sentences, supports)


# --------------------------------------------------------------------------- latency


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0..100) by linear interpolation (numpy's default)."""
    if not values:
        raise ValueError("percentile of an empty sequence")
    if not 0 <= p <= 100:
        raise ValueError(f"p must be in [0, 100], got {p}")
    v = sorted(values)
    x = (len(v) - 1) * p / 100
    lo, hi = math.floor(x), math.ceil(x)
    return v[lo] + (v[hi] - v[lo]) * (x - lo)
