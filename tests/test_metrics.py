"""Tests for ingest.text and eval.metrics, with hand-computed expected values."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest

from eval.metrics import (
    AbstentionRecord,
    CitedSentence,
    abstention_metrics,
    citation_precision,
    citation_recall,
    dangling_citations,
    faithfulness,
    hit_at_1,
    key_point_coverage,
    key_point_covered,
    mean_defined,
    mrr_at_k,
    ndcg_at_k,
    percentile,
    quote_in,
    recall_at_k,
)
from ingest.text import (
    citation_numbers,
    normalise,
    ungrounded_numbers,
)

# ----------------------------------------------------------------------------- quote_in

QUOTE = "LEMS is characterized by antibodies against voltage-gated calcium channels"


def test_quote_in_normalised_containment() -> None:
    passage = (
        "Intro.  lems IS characterized\nby antibodies against voltage\u2013gated CALCIUM channels."
    )
    assert quote_in(passage, QUOTE)
    assert not quote_in("Something else entirely.", QUOTE)
    assert not quote_in("anything", "")


def test_quote_in_chunk_boundary_cut() -> None:
    q = normalise(QUOTE)
    head, tail = q[: int(0.7 * len(q))], q[int(0.3 * len(q)) :]
    # the chunk ends with the first 70% of the quote / starts with its last 70%
    assert quote_in("Some earlier text. " + head, QUOTE)
    assert quote_in(tail + " and the following text.", QUOTE)
    # only 50% of the quote at the boundary is not enough
    assert not quote_in("Some earlier text. " + q[: len(q) // 2], QUOTE)
    # a 70% piece in the middle of the passage is not a boundary cut
    assert not quote_in("Some earlier text. " + head + " and more text.", QUOTE)
    # a chunk shorter than the quote that lies entirely inside it
    assert quote_in(q[5 : 5 + int(0.65 * len(q))], QUOTE)
    assert not quote_in(q[5 : 5 + int(0.4 * len(q))], QUOTE)


# ----------------------------------------------------------------------------- retrieval

Q1 = "alpha beta gamma"
Q2 = "delta epsilon"


def test_retrieval_metrics_hand_computed_fewer_than_k() -> None:
    retrieved = ["nothing", "x alpha beta gamma y", "nothing again", "delta epsilon z"]
    quotes = [Q1, Q2]
    assert hit_at_1(retrieved, quotes) == 0.0
    assert recall_at_k(retrieved, quotes, 1) == 0.0
    assert recall_at_k(retrieved, quotes, 2) == 0.5
    assert recall_at_k(retrieved, quotes, 10) == 1.0
    assert mrr_at_k(retrieved, quotes, 10) == 0.5
    assert mrr_at_k(retrieved, quotes, 1) == 0.0
    # DCG = 1/log2(3) + 1/log2(5); IDCG over min(10, 2) = 2 positions = 1 + 1/log2(3)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    idcg = 1 + 1 / math.log2(3)
    got = ndcg_at_k(retrieved, quotes, 10)
    assert got == pytest.approx(dcg / idcg)
    assert got == pytest.approx(0.650921, abs=1e-6)
    # the frequent bug: normalising by k ideal positions would give ~0.2336
    assert got != pytest.approx(dcg / sum(1 / math.log2(i + 1) for i in range(1, 11)))


def test_retrieval_perfect_and_empty() -> None:
    quotes = [Q1, Q2]
    perfect = ["alpha beta gamma", "delta epsilon"]
    assert hit_at_1(perfect, quotes) == 1.0
    assert recall_at_k(perfect, quotes, 10) == 1.0
    assert mrr_at_k(perfect, quotes) == 1.0
    assert ndcg_at_k(perfect, quotes, 10) == pytest.approx(1.0)
    assert hit_at_1([], quotes) == 0.0
    assert recall_at_k([], quotes, 5) == 0.0
    assert mrr_at_k([], quotes) == 0.0
    assert ndcg_at_k([], quotes) == 0.0


def test_ndcg_k_smaller_than_number_of_quotes() -> None:
    quotes = [Q1, Q2, "zeta eta"]
    # k = 2: IDCG over 2 positions, one hit at rank 2
    got = ndcg_at_k(["nope", "delta epsilon", "zeta eta"], quotes, 2)
    assert got == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))


def test_ndcg_capped_when_duplicates_are_relevant() -> None:
    got = ndcg_at_k(["alpha beta gamma", "again alpha beta gamma"], [Q1], 10)
    assert got == 1.0


def test_retrieval_unanswerable_is_none_and_skipped() -> None:
    retrieved = ["alpha beta gamma"]
    assert hit_at_1(retrieved, []) is None
    assert recall_at_k(retrieved, [], 5) is None
    assert mrr_at_k(retrieved, []) is None
    assert ndcg_at_k(retrieved, []) is None
    assert mean_defined([1.0, None, 0.0, None]) == 0.5
    assert mean_defined([None]) is None


def test_k_must_be_positive() -> None:
    with pytest.raises(ValueError):
        recall_at_k(["a"], ["a"], 0)
    with pytest.raises(ValueError):
        ndcg_at_k(["a"], ["a"], 0)


# ----------------------------------------------------------------------------- key points


def test_key_point_covered() -> None:
    answer = "Paraneoplastic neuropathy is caused by antibodies against tumour antigens."
    assert key_point_covered(answer, "Antibodies cause paraneoplastic neuropathy")
    # 4 of 5 content words present = 80% -> covered
    assert key_point_covered(answer, "antibodies, tumour antigens, neuropathy spread")
    # 3 of 5 present = 60% -> not covered
    assert not key_point_covered(answer, "antibodies, tumour cells, neuropathy spread")
    assert not key_point_covered(answer, "Calcium channel blockers help")


def test_key_point_coverage() -> None:
    answer = "LEMS is linked to small cell lung cancer and is treated with immunoglobulin."
    kps = ["LEMS is linked to small cell lung cancer", "treated with immunoglobulin", "steroids"]
    assert key_point_coverage(answer, kps) == pytest.approx(2 / 3)
    assert key_point_coverage(answer, []) is None


# ----------------------------------------------------------------------------- abstention


def test_abstention_metrics() -> None:
    records = [
        AbstentionRecord(answerable=False, abstained=True),
        AbstentionRecord(answerable=False, abstained=True),
        AbstentionRecord(answerable=False, abstained=False),
        AbstentionRecord(answerable=True, abstained=True),
        AbstentionRecord(answerable=True, abstained=False),
        AbstentionRecord(answerable=True, abstained=False),
        AbstentionRecord(answerable=True, abstained=False),
    ]
    m = abstention_metrics(records)
    assert m.abstention_accuracy == pytest.approx(2 / 3)
    assert m.false_refusal_rate == pytest.approx(1 / 4)
    assert (m.n_answerable, m.n_unanswerable) == (4, 3)
    only_answerable = abstention_metrics(records[3:])
    assert only_answerable.abstention_accuracy is None


# ----------------------------------------------------------------------------- citations


def word_supports(sentence: str, passages: Sequence[str]) -> bool:
    """Toy judge: every word of the sentence occurs in the passages together."""
    words = set(" ".join(passages).split())
    return bool(passages) and set(sentence.split()) <= words


ANSWER = [
    CitedSentence("a b", ("a b", "c")),  # supported; cite 1 precise, cite 2 irrelevant
    CitedSentence("a c", ("a", "c")),  # supported only jointly; both precise
    CitedSentence("d", ("a",)),  # unsupported; cite imprecise
    CitedSentence("e", ()),  # no citation: unsupported
]


def test_citation_recall_and_precision() -> None:
    assert citation_recall(ANSWER, word_supports) == 0.5
    assert citation_precision(ANSWER, word_supports) == pytest.approx(3 / 5)
    assert faithfulness(ANSWER, word_supports) == 0.5
    assert citation_recall([], word_supports) is None
    assert citation_precision([CitedSentence("x")], word_supports) is None


def test_citation_precision_alone_support_counts() -> None:
    # both citations support the sentence alone: both precise even though each is redundant
    both = [CitedSentence("a", ("a", "a b"))]
    assert citation_precision(both, word_supports) == 1.0


def test_dangling_citations() -> None:
    text = "One [1]. Two [3]. Zero [0]. List [2, 5]. Range [1-4]."
    assert citation_numbers(text) == [1, 3, 0, 2, 5, 1, 2, 3, 4]
    assert dangling_citations(text, 3) == 3
    assert dangling_citations("No markers.", 0) == 0
    assert dangling_citations("See [1].", 0) == 1


def test_ungrounded_numbers() -> None:
    passages = ["The prevalence is 1% to 1.6% [1].", "Neuropathy within 2 years of diagnosis3."]
    sentence = "It affects 1.6% of patients within 2 years, 3 times more, at 45% [2]."
    assert ungrounded_numbers(sentence, passages) == {"3 times", "45%"}
    # a bare number is grounded by the same value with a unit
    assert ungrounded_numbers("Within 2 of them.", passages) == set()
    # footnote digits in the passage do not ground anything
    assert ungrounded_numbers("Stage 3 disease.", passages) == {"3"}


# ----------------------------------------------------------------------------- latency


def test_percentile_linear() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 50) == pytest.approx(2.5)
    assert percentile(values, 95) == pytest.approx(3.85)
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_percentile_matches_numpy() -> None:
    np = pytest.importorskip("numpy")
    values = [0.31, 0.12, 2.5, 0.7, 0.44, 1.9, 0.05]
    for p in (5, 50, 90, 95, 99):
        assert percentile(values, p) == pytest.approx(float(np.percentile(values, p)))
