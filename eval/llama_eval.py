"""A second, independent scorer: llama-index's `RetrieverEvaluator` (`hit_rate`, `mrr`).

`citewise eval --baseline` runs it on the gold set for citewise's retriever
(`app.llama.CitewiseRetriever`) and for the stock pipeline's (`eval.baseline`), each asked
for its top `k` passages (`KS`: 5 and 10; the stock pipeline also at its own 2).

Expected ids. The evaluator scores node ids, the gold set holds quotes. A question's
expected ids are those of every passage of that retriever's corpus (citewise's chunks, or
the stock pipeline's nodes) that contains one of its gold quotes by the rule citewise's
own metrics use (`eval.metrics.quote_in`, a quote cut by a passage boundary included). An
answerable question none of whose quotes is in any passage has no expected id: the
evaluator cannot score it (its metrics refuse empty lists), so it is left out and counted.

Why the two scorers can disagree, each part counted in the result:
- `hit_rate` is 1 when *any* expected passage is retrieved; citewise's `recall@k` is the
  share of the question's gold *quotes* found. A question with several quotes of which
  only some are in the top k counts 1 in one and less in the other.
- A question left out (no expected id) counts 0 in citewise's metrics.
- The stock pipeline's own figures in the report are of the 2 passages it retrieves; the
  evaluator asks it for k.
Citewise's own definitions are also applied to the very lists the evaluator scored
(`same_retrieval`): what is left between the two is the definitions, not the runs.

Offline: the evaluator runs no LLM and no embedding of its own (only the retrievers do).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from eval.gold import GoldQuestion
from eval.metrics import BOUNDARY_SHARE, mean_defined, mrr_at_k, quote_in, recall_at_k
from ingest.progress import bar
from ingest.text import normalise

if TYPE_CHECKING:
    from llama_index.core.retrievers import BaseRetriever

KS = {"citewise": (5, 10), "stock": (2, 5, 10)}
"""The depths each retriever is asked for: citewise's default top-k and the report's MRR
depth; the stock pipeline's own 2 too, to check the evaluator against its figures."""
METRICS = ("hit_rate", "mrr")


def expected_ids(quotes: Sequence[str], passages: Mapping[str, str],
                 norm: Mapping[str, str] | None = None) -> list[str]:
    """Ids of the passages (id -> text) that contain one of `quotes` (`quote_in`), in the
    order of `passages`. `norm`: the passages already `normalise`d, to do it once."""
    if norm is None:
        norm = {pid: normalise(text) for pid, text in passages.items()}
    out = []
    for pid, p in norm.items():
        for quote in quotes:
            q = normalise(quote)
            if not q or not p:
                continue
            need = math.ceil(BOUNDARY_SHARE * len(q))
            # quote_in holds only if the quote is in the passage, or the passage's first or
            # last `need` characters are in the quote: check that cheaply first
            if (q in p or p[:need] in q or p[-need:] in q) and quote_in(passages[pid], quote):
                out.append(pid)
                break
    return out


def expected_by_question(gold: Sequence[GoldQuestion],
                         passages: Mapping[str, str]) -> dict[str, list[str]]:
    """`expected_ids` of every answerable question, the passages normalised once."""
    norm = {pid: normalise(text) for pid, text in passages.items()}
    return {q.id: expected_ids(q.quotes, passages, norm) for q in gold if q.answerable}


def evaluate(retriever: BaseRetriever, gold: Sequence[GoldQuestion],
             passages: Mapping[str, str], k: int, progress: bool = False,
             desc: str = "llama-index evaluator",
             expected: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
    """RetrieverEvaluator's hit_rate and mrr over the answerable questions of `gold`
    (`retriever` returns its top `k`), and citewise's recall@k and MRR@k of the same
    retrieved lists; see the module docstring for who counts what. `expected`: the
    questions' expected ids, if already mapped (`expected_by_question`)."""
    from llama_index.core.evaluation import RetrieverEvaluator

    if expected is None:
        expected = expected_by_question(gold, passages)

    evaluator = RetrieverEvaluator.from_metric_names(list(METRICS), retriever=retriever)
    scores: dict[str, list[float]] = {m: [] for m in METRICS}
    ours: dict[str, list[float | None]] = {"recall": [], "mrr": []}
    left_out: list[str] = []
    partial: list[str] = []
    scored_mrr: list[float | None] = []  # citewise's MRR of the questions the evaluator scored
    answerable = [q for q in gold if q.answerable]
    for q in bar(answerable, enabled=progress, desc=desc, unit="question"):
        ids = expected[q.id]
        result = None
        if ids:
            result = evaluator.evaluate(query=q.question, expected_ids=ids)
            retrieved = list(result.retrieved_texts)
        else:
            retrieved = [n.node.get_content() for n in retriever.retrieve(q.question)]
        ours["recall"].append(recall_at_k(retrieved, q.quotes, k))
        ours["mrr"].append(mrr_at_k(retrieved, q.quotes, k))
        if result is None:
            left_out.append(q.id)
            continue
        scored_mrr.append(ours["mrr"][-1])
        for m in METRICS:
            scores[m].append(result.metric_vals_dict[m])
        if result.metric_vals_dict["hit_rate"] == 1.0 and (ours["recall"][-1] or 0) < 1.0:
            partial.append(q.id)
    return {
        "k": k,
        "hit_rate": _mean(scores["hit_rate"]),
        "mrr": _mean(scores["mrr"]),
        "scored": len(scores["mrr"]),
        "passages": len(passages),
        "left_out": left_out,
        "partial_quotes": partial,
        "same_retrieval": {f"recall@{k}": _round(mean_defined(ours["recall"])),
                           f"mrr@{k}": _round(mean_defined(ours["mrr"])),
                           "mrr_of_scored": _round(mean_defined(scored_mrr))},
    }


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def run(service: Any, stock: Any, gold: Sequence[GoldQuestion],
        progress: bool = False) -> dict[str, Any]:
    """The evaluator on citewise's retriever and the stock pipeline's, at each k of `KS`."""
    from app.llama import CitewiseRetriever

    ours = {c.id: c.text for c in service.index.manifest.all_chunks()}
    theirs = stock.passages()
    ours_expected = expected_by_question(gold, ours)
    theirs_expected = expected_by_question(gold, theirs)
    out: dict[str, Any] = {"citewise": {}, "stock": {}}
    for k in KS["citewise"]:
        out["citewise"][str(k)] = evaluate(
            CitewiseRetriever(service, similarity_top_k=k), gold, ours, k, progress,
            f"llama-index evaluator, citewise k={k}", ours_expected)
    for k in KS["stock"]:
        out["stock"][str(k)] = evaluate(stock.retriever(k), gold, theirs, k, progress,
                                        f"llama-index evaluator, stock k={k}",
                                        theirs_expected)
    return out


def _against_run(label: str, run_mrr: float | None, r: dict[str, Any] | None) -> list[str]:
    """A line when the evaluator's lists ranked otherwise than the main run did."""
    lists_mrr = r["same_retrieval"][f"mrr@{r['k']}"] if r else None
    if run_mrr is None or lists_mrr is None:
        return []
    if abs(run_mrr - lists_mrr) <= 1e-3:
        return [f"- {label}: the evaluator's lists give the main run's MRR ({_fmt(run_mrr)}) "
                "in the tables above: the same retrieval, scored twice."]
    return [f"- {label}: the main run's MRR ({_fmt(run_mrr)}) differs from that of the "
            f"evaluator's lists ({_fmt(lists_mrr)}): the two runs retrieved differently "
            "(approximate vector search)."]


def explain(evaluated: dict[str, Any], own: dict[str, Any],
            stock_own: dict[str, Any] | None = None) -> list[str]:
    """Sentences for the report: where the evaluator and citewise's metrics differ, why.
    `own` and `stock_own` are the retrieval metrics of the main run (citewise's, the stock
    pipeline's top 2)."""
    lines = []
    for name, label in (("citewise", "citewise"), ("stock", "the stock pipeline")):
        for k, r in evaluated[name].items():
            same = r["same_retrieval"]
            why = []
            if r["partial_quotes"]:
                why.append(f"{_n(r['partial_quotes'])} had only some of their gold "
                           f"quotes in the top {k} (a hit for `hit_rate`, less than 1 for "
                           f"recall: {', '.join(r['partial_quotes'][:8])}"
                           f"{' ...' if len(r['partial_quotes']) > 8 else ''})")
            if r["left_out"]:
                why.append(f"{_n(r['left_out'], 'answerable question')} with no passage "
                           "holding a gold quote have no expected id: the evaluator leaves them "
                           "out, "
                           f"citewise counts them 0 ({', '.join(r['left_out'][:8])})")
            if r.get("passages", int(k) + 1) <= int(k):
                why.append(f"its corpus holds only {r['passages']} passages, so the top {k} is "
                           "all of it and every question with an expected id is a hit")
            if r["mrr"] is not None and same["mrr_of_scored"] is not None \
                    and abs(r["mrr"] - same["mrr_of_scored"]) > 1e-3:
                why.append("the MRRs differ on the same lists: the id mapping and the quote "
                           "rule disagree somewhere (a defect to look into)")
            lines.append(
                f"- {label}, k = {k}: `hit_rate` {_fmt(r['hit_rate'])} against recall@{k} "
                f"{_fmt(same[f'recall@{k}'])}, `mrr` {_fmt(r['mrr'])} against MRR@{k} "
                f"{_fmt(same[f'mrr@{k}'])} of the same retrieved lists. "
                + ("Why they differ, or say little: " + "; ".join(why) + "." if why else
                   "They agree: each question found all its gold quotes or none."))
    lines += _against_run("citewise, k = 10", own.get("mrr@10"),
                          evaluated["citewise"].get("10"))
    lines += _against_run("the stock pipeline, k = 2", (stock_own or {}).get("mrr@10"),
                          evaluated["stock"].get("2"))
    lines.append("- The stock pipeline's own figures in the tables above are of the 2 passages "
                 "it retrieves (a question it misses there counts 0 in MRR); asked for more, it "
                 "finds passages it missed, further down, so its hit rate and MRR rise.")
    return lines


def _n(ids: list[str], noun: str = "question") -> str:
    return f"{len(ids)} {noun}{'' if len(ids) == 1 else 's'}"


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
