"""Write an eval run to a folder: metrics.json, answers.jsonl, report.md and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eval.runner import Record
from eval.scoring import KS

METRIC_NOTES = {
    "hit@1": "the top passage contains a gold quote",
    "recall@k": "share of gold quotes found in the top k passages",
    "mrr@10": "1 / rank of the first passage with a gold quote",
    "ndcg@10": "binary relevance, ideal DCG over min(k, number of quotes)",
    "key_point_coverage": "share of key points whose content words (80%) are in the answer",
    "refusal_on_unanswerable": "share of unanswerable questions answered with a refusal",
    "false_refusal": "share of answerable questions refused",
    "citation_recall": "share of answer sentences supported by the passages they cite (ALCE)",
    "citation_precision": "share of citations needed to support their sentence (ALCE)",
    "faithfulness": "share of answer sentences supported by their cited passages",
    "dangling_citations": "[n] markers that resolve to no citation",
    "cites_gold_passage": "share of answers citing a passage that contains a gold quote",
    "answer_precision": "share of the sentences of answered, answerable questions that carry a "
                        "key point (80% of its content words) or lie within a gold quote (a "
                        "substring of it, or 80% of the sentence's content words in it); "
                        "markers stripped, pooled over sentences",
    "sentences_per_answer": "mean number of sentences shown, over answered, answerable questions",
    "citations_per_answer": "mean number of distinct citations of those sentences, same questions",
    "fallback_rate": "generative only: share of answerable questions whose generated answer could "
                     "not be verified and fell back to source sentences",
}


def write(out: Path, metrics: dict[str, Any], records: list[Record],
          baseline: list[Record] | None, failures: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    with (out / "answers.jsonl").open("w") as f:
        for r in records:
            row = {"id": r.gold.id, "kind": r.gold.kind, "answerable": r.gold.answerable,
                   "latency_ms": round(r.latency_ms, 1), **r.answer}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    plots = _plots(out, metrics)
    (out / "report.md").write_text(_markdown(metrics, records, failures, plots))


def _table(rows: list[tuple[str, Any, Any]], baseline: bool) -> list[str]:
    head = "| metric | citewise | stock llama-index |" if baseline else "| metric | citewise |"
    sep = "|---|---|---|" if baseline else "|---|---|"
    lines = [head, sep]
    for name, ours, theirs in rows:
        cells = [name, _fmt(ours)] + ([_fmt(theirs)] if baseline else [])
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _markdown(metrics: dict[str, Any], records: list[Record], failures: list[str],
              plots: list[str]) -> str:
    cfg = metrics["config"]
    base = metrics.get("baseline")
    lines = [
        "# citewise eval report", "",
        f"Gold set `{cfg['gold']}`: {metrics['n_questions']} questions "
        f"({metrics['n_answerable']} answerable). Mode `{cfg['mode']}`, top-k {cfg['top_k']}, "
        f"{cfg['documents']} documents ({cfg['distractors']} distractor abstracts), "
        f"embedding model `{cfg['embedding_model']}`, chunks of {cfg['chunk_tokens']} tokens.",
        "",
        "**Gate: passed.**" if not failures else
        "**Gate: failed** on " + "; ".join(f"`{f}`" for f in failures) + ".",
        "",
        "Targets not met yet: " + ("; ".join(f"`{f}`" for f in metrics["gate"]["targets_missed"])
                                   or "none") + ".",
        "", "## Retrieval", "",
    ]
    rows = [(name, value, (base or {}).get("retrieval", {}).get(name))
            for name, value in metrics["retrieval"].items()]
    lines += _table(rows, base is not None)
    if base:
        lines += ["", "The baseline is " + base["description"] + " Its recall@k for k > 2 "
                  "equals its recall@2: it retrieves two passages."]
    if "llama_index_evaluator" in metrics:
        lines += _second_scorer(metrics["llama_index_evaluator"], metrics["retrieval"],
                                (base or {}).get("retrieval"))
    lines += ["", "## Answers", ""]
    rows = [(name, value, (base or {}).get("answer", {}).get(name))
            for name, value in metrics["answer"].items()]
    lines += _table(rows, base is not None)
    if "extractive" in metrics:
        ext = metrics["extractive"]
        lines += ["", "### Generative beside extractive (same questions)", "",
                  "| metric | generative | extractive |", "|---|---|---|"]
        lines += [f"| {name} | {_fmt(value)} | {_fmt(ext['answer'].get(name))} |"
                  for name, value in metrics["answer"].items()]
        lines += ["", f"Generator: `{cfg.get('generator', '')}`. Generated sentences are "
                  "checked against their citations before they count (`app.answer.verify`); the "
                  "figures are of the verified answers."]
    lat = metrics["latency"]
    lines += ["", "## Latency", "",
              f"citewise, whole answer: p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms."]
    if "first_token_p50_ms" in lat:
        lines.append(f"First token of the model: p50 {lat['first_token_p50_ms']} ms, p95 "
                     f"{lat['first_token_p95_ms']} ms ({lat['reached_model']} questions "
                     "reached the model; the others abstained at retrieval).")
    if base:
        bl = base["latency"]
        lines.append(f"Baseline retrieval: p50 {bl['p50_ms']} ms, p95 {bl['p95_ms']} ms.")
    checker = metrics["support_checker"]
    lines += ["", "## Support checker", "",
              f"Balanced accuracy {checker['balanced_accuracy']:.3f} on {checker['pairs']} "
              "labelled (sentence, passage) pairs built from the sources: verbatim sentences "
              "against perturbed ones (swapped number, negation, swapped entity, a subject "
              "with its neighbour's predicate, unrelated sentence). Judged right, by kind: "
              + ", ".join(f"{k} {v:.3f}" for k, v in checker.get("right_by_kind", {}).items())
              + ".",
              "",
              f"Balanced accuracy {checker['generated_balanced_accuracy']:.3f} on "
              f"{checker['generated_pairs']} answer sentences of the packaged model against the "
              "evidence they cite, labelled by hand (`eval/gold/checker_generated.jsonl`): "
              "the harder test, since a model's paraphrases are not perturbations."]
    kind_cols = [("recall@5", "recall@5"), ("key_point_coverage", "key points"),
                 ("abstained", "abstained"), ("answer_precision", "answer precision"),
                 ("sentences_per_answer", "sentences / answer"),
                 ("citations_per_answer", "citations / answer")]
    if any("fallback_rate" in row for row in metrics["per_kind"].values()):
        kind_cols.append(("fallback_rate", "fallback"))
    lines += ["", "## By kind", "", "| kind | n | " + " | ".join(h for _, h in kind_cols) + " |",
              "|---|---|" + "---|" * len(kind_cols)]
    for kind, row in metrics["per_kind"].items():
        lines.append(f"| {kind} | {row['n']} | "
                     + " | ".join(_fmt(row.get(key)) for key, _ in kind_cols) + " |")
    lines += ["", "## Definitions", ""]
    lines += [f"- **{k}**: {v}." for k, v in METRIC_NOTES.items()]
    for plot in plots:
        lines += ["", f"![{plot}]({plot})"]
    misses = [r for r in records if r.gold.answerable and r.answer["abstained"]]
    wrong = [r for r in records if not r.gold.answerable and not r.answer["abstained"]]
    if misses or wrong:
        lines += ["", "## Questions to look at", ""]
        lines += [f"- {r.gold.id} ({r.gold.kind}) refused: {r.gold.question}" for r in misses]
        lines += [f"- {r.gold.id} ({r.gold.kind}) answered, should refuse: {r.gold.question}"
                  for r in wrong]
    return "\n".join(lines) + "\n"


def _second_scorer(evaluated: dict[str, Any], own: dict[str, Any],
                   stock_own: dict[str, Any] | None) -> list[str]:
    """llama-index's RetrieverEvaluator beside citewise's metrics (`eval.llama_eval`)."""
    from eval.llama_eval import explain

    lines = ["", "## Second scorer: llama-index RetrieverEvaluator", "",
             "llama-index's own `RetrieverEvaluator` (`hit_rate`, `mrr`), run on each retriever "
             "asked for its top k, with a question's expected ids being the passages that hold "
             "one of its gold quotes (`eval/llama_eval.py`). Beside it, citewise's recall@k "
             "and MRR@k of the same retrieved lists.", "",
             "| retriever | k | hit_rate | mrr | recall@k (same lists) | MRR@k (same lists) "
             "| questions scored | left out | passages in its corpus |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, label in (("citewise", "citewise"), ("stock", "stock llama-index")):
        for k, r in evaluated[name].items():
            same = r["same_retrieval"]
            lines.append(f"| {label} | {k} | {_fmt(r['hit_rate'])} | {_fmt(r['mrr'])} | "
                         f"{_fmt(same[f'recall@{k}'])} | {_fmt(same[f'mrr@{k}'])} | "
                         f"{r['scored']} | {len(r['left_out'])} | {r.get('passages', 'n/a')} |")
    return lines + [""] + explain(evaluated, own, stock_own)


def _plots(out: Path, metrics: dict[str, Any]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(KS, [metrics["retrieval"][f"recall@{k}"] for k in KS], marker="o", label="citewise")
    if metrics.get("baseline"):
        ax.plot(KS, [metrics["baseline"]["retrieval"][f"recall@{k}"] for k in KS], marker="s",
                label="stock llama-index (top 2)")
    ax.set(xlabel="k", ylabel="recall@k", ylim=(0, 1.02), xticks=list(KS),
           title="Gold quotes found in the top k passages")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "recall_at_k.png", dpi=120)
    plt.close(fig)
    names.append("recall_at_k.png")

    kinds = list(metrics["per_kind"])
    fig, ax = plt.subplots(figsize=(7, 3.5))
    xs = range(len(kinds))
    cover = [metrics["per_kind"][k]["key_point_coverage"] or 0 for k in kinds]
    abst = [metrics["per_kind"][k]["abstained"] or 0 for k in kinds]
    ax.bar([x - 0.2 for x in xs], cover, width=0.4, label="key-point coverage")
    ax.bar([x + 0.2 for x in xs], abst, width=0.4, label="abstained")
    ax.set_xticks(list(xs), kinds, rotation=20)
    ax.set(ylim=(0, 1.02), title="By question kind")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "per_kind.png", dpi=120)
    plt.close(fig)
    names.append("per_kind.png")
    return names


def _shown(value: object) -> str:
    """A figure as the summary prints it: a dict of figures as "(a 1.0 / b 0.5)"."""
    if isinstance(value, dict):
        return "(" + " / ".join(f"{k} {v}" for k, v in value.items()) + ")"
    return str(value)


def _row(values: dict) -> str:
    return ", ".join(f"{k} {_shown(v)}" for k, v in values.items())


def summary_lines(metrics: dict) -> list[str]:
    """The lines `citewise eval` prints: each section's figures, then per kind, then the
    targets not met yet."""
    lines = [f"{section}: {_row(metrics[section])}"
             for section in ("retrieval", "answer", "latency", "support_checker")]
    if "extractive" in metrics:
        lines.append(f"extractive answers to the same questions: "
                     f"{_row(metrics['extractive']['answer'])}")
    if "baseline" in metrics:
        lines.append(f"baseline retrieval: {_row(metrics['baseline']['retrieval'])}")
    for name, runs in metrics.get("llama_index_evaluator", {}).items():
        values = ", ".join(f"k={k} hit_rate {r['hit_rate']} mrr {r['mrr']}"
                           for k, r in runs.items())
        lines.append(f"llama-index RetrieverEvaluator, {name}: {values}")
    lines += [f"kind {kind}: {_row(row)}" for kind, row in metrics.get("per_kind", {}).items()]
    missed = metrics["gate"]["targets_missed"]
    lines.append("targets not met yet: " + ("; ".join(missed) or "none"))
    return lines

