"""Turn per-question records into the metrics of a report (definitions in `eval.metrics`).

Averages are over the questions for which a metric is defined: retrieval and key points
over answerable questions, refusal over unanswerable ones, citation and faithfulness
metrics over answers that said something (not abstained). An abstained answer to an
answerable question covers no key point. Answer precision, sentences and citations per answer
are over answerable questions that were answered; the fallback rate over answerable questions,
and only for generative runs (``mode="generative"``): in an extractive run it is absent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from app.answer.generative import FALLBACK_NOTE
from eval.metrics import (
    AbstentionRecord,
    CitedSentence,
    GradedAnswer,
    abstention_metrics,
    answer_precision,
    citation_precision,
    citation_recall,
    dangling_citations,
    faithfulness,
    hit_at_1,
    key_point_coverage,
    mean_defined,
    mrr_at_k,
    ndcg_at_k,
    percentile,
    quote_in,
    recall_at_k,
)
from eval.runner import Record
from ingest.text import ungrounded_numbers

Supports = Callable[[str, Sequence[str]], bool]
KS = (1, 3, 5, 10)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def retrieval_metrics(records: list[Record]) -> dict[str, float | None]:
    ans = [r for r in records if r.gold.answerable]
    out: dict[str, float | None] = {
        "hit@1": mean_defined(hit_at_1(r.retrieved, r.gold.quotes) for r in ans)}
    for k in KS:
        out[f"recall@{k}"] = mean_defined(recall_at_k(r.retrieved, r.gold.quotes, k) for r in ans)
    out["mrr@10"] = mean_defined(mrr_at_k(r.retrieved, r.gold.quotes, 10) for r in ans)
    out["ndcg@10"] = mean_defined(ndcg_at_k(r.retrieved, r.gold.quotes, 10) for r in ans)
    return {k: _round(v) for k, v in out.items()}


def _answered(records: list[Record]) -> list[Record]:
    """Answerable questions that were answered (not abstained)."""
    return [r for r in records if r.gold.answerable and not r.answer["abstained"]]


def _distinct_citations(r: Record) -> int:
    """Distinct citation numbers of the sentences shown (failed generated ones left out)."""
    return len({n for s in r.answer.get("sentences", []) if s.get("supported") is not False
                for n in s.get("citations", [])})


def _fell_back(r: Record) -> bool:
    return r.answer.get("note") == FALLBACK_NOTE


def shape_metrics(records: list[Record], mode: str = "extractive") -> dict[str, float | None]:
    """Answer precision, sentences and citations per answer, and (generative) fallback rate
    (definitions in `eval.metrics`, "Answer precision" and "Answer shape")."""
    answered = _answered(records)
    out: dict[str, float | None] = {
        "answer_precision": answer_precision(
            GradedAnswer(tuple(t for t, _ in r.sentences), r.gold.key_points, r.gold.quotes)
            for r in answered),
        "sentences_per_answer": mean_defined(float(len(r.sentences)) for r in answered),
        "citations_per_answer": mean_defined(float(_distinct_citations(r)) for r in answered),
    }
    if mode == "generative":
        ans = [r for r in records if r.gold.answerable]
        out["fallback_rate"] = sum(_fell_back(r) for r in ans) / len(ans) if ans else None
    return {k: _round(v) for k, v in out.items()}


def answer_metrics(records: list[Record], supports: Supports,
                   mode: str = "extractive") -> dict[str, Any]:
    ans = [r for r in records if r.gold.answerable]
    abst = abstention_metrics(AbstentionRecord(r.gold.answerable, bool(r.answer["abstained"]))
                              for r in records)
    spoken = [r for r in records if not r.answer["abstained"] and r.sentences]
    cited = [[CitedSentence(t, tuple(p)) for t, p in r.sentences] for r in spoken]
    answered = [r for r in ans if not r.answer["abstained"]]
    return {
        "key_point_coverage": _round(mean_defined(
            key_point_coverage(r.answer["answer"], r.gold.key_points) for r in ans)),
        "refusal_on_unanswerable": _round(abst.abstention_accuracy),
        "false_refusal": _round(abst.false_refusal_rate),
        "citation_recall": _round(mean_defined(citation_recall(c, supports) for c in cited)),
        "citation_precision": _round(mean_defined(
            citation_precision(c, supports) for c in cited)),
        "faithfulness": _round(mean_defined(faithfulness(c, supports) for c in cited)),
        "answers_with_ungrounded_numbers": sum(
            any(ungrounded_numbers(t, p) for t, p in r.sentences) for r in spoken),
        "dangling_citations": sum(
            dangling_citations(r.answer["answer"], len(r.answer["citations"])) for r in records),
        "cites_gold_passage": _round(mean_defined(
            float(any(quote_in(c["passage"], q) for c in r.answer["citations"]
                      for q in r.gold.quotes)) for r in answered)),
        **shape_metrics(records, mode),
    }


def latency(records: list[Record]) -> dict[str, float]:
    values = [r.latency_ms for r in records]
    return {"p50_ms": round(percentile(values, 50), 1), "p95_ms": round(percentile(values, 95), 1)}


def first_token(records: list[Record]) -> dict[str, float]:
    """Time to the model's first token (generative answers that reached the model)."""
    values = [r.answer["timings"]["first_token_ms"] for r in records
              if "first_token_ms" in r.answer.get("timings", {})]
    if not values:
        return {}
    return {"first_token_p50_ms": round(percentile(values, 50), 1),
            "first_token_p95_ms": round(percentile(values, 95), 1),
            "reached_model": len(values)}


def per_kind(records: list[Record], supports: Supports,
             mode: str = "extractive") -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        groups[r.gold.kind].append(r)
    out = {}
    for kind, rs in sorted(groups.items()):
        ans = [r for r in rs if r.gold.answerable]
        out[kind] = {
            "n": len(rs),
            "recall@5": _round(mean_defined(recall_at_k(r.retrieved, r.gold.quotes, 5)
                                            for r in ans)),
            "key_point_coverage": _round(mean_defined(
                key_point_coverage(r.answer["answer"], r.gold.key_points) for r in ans)),
            "abstained": _round(sum(bool(r.answer["abstained"]) for r in rs) / len(rs)),
            **shape_metrics(rs, mode),
        }
    return out


def score(records: list[Record], supports: Supports, mode: str = "extractive") -> dict[str, Any]:
    return {"n_questions": len(records),
            "n_answerable": sum(r.gold.answerable for r in records),
            "retrieval": retrieval_metrics(records),
            "answer": answer_metrics(records, supports, mode),
            "latency": latency(records),
            "per_kind": per_kind(records, supports, mode)}


def score_baseline(records: list[Record]) -> dict[str, Any]:
    """Only what a retrieve-and-paste pipeline can be scored on: retrieval and key points."""
    ans = [r for r in records if r.gold.answerable]
    return {"retrieval": retrieval_metrics(records),
            "answer": {"key_point_coverage": _round(mean_defined(
                key_point_coverage(r.answer["answer"], r.gold.key_points) for r in ans))},
            "latency": latency(records)}
