"""Measure the language model as the judge of answerability (`app.answer.answerability`).

    python -m eval.answerability [--gold eval/gold/questions.jsonl] [--distractors 3000]
                                 [--evidence] [--out FILE.jsonl] [--from FILE.jsonl]

1. For every gold question, over the default sources plus `--distractors` PubMed abstracts
   (0: the sources alone), the evidence stage's best `JUDGED` sentences when the question
   passes the retrieval threshold; the packaged model's P("Yes") for each (the judge's own
   prompt). Each pair is labelled by the answer-precision rule
   (`eval.metrics.sentence_precise`); every sentence of an unanswerable question is 0.
   `--out` keeps the pairs; `--from` scores kept pairs again without the model.
2. Printed: the pairs' ROC AUC; per question (the best of its judged sentences against
   `ANSWERS_MIN`) the refusals on unanswerable and answerable questions; and a two-fold
   check of the threshold (folds by a hash of the question id, as `eval.responsive`): the
   highest threshold keeping false refusals within 5% on one fold, scored on the other.
3. `--evidence` judges, instead, every numbered evidence line the generative answerer gives
   the model (`app.answer.generative.answer_evidence`: `CITEWISE_LLM_EVIDENCE` lines, each
   a sentence with the sentences around it that it needs), labelled the same way, and adds
   the share of lines that answer per line number and the judge's ROC AUC among lines 2
   and after: can it tell which of the lines after the best one the model should get?
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

from app.answer.answerability import ANSWERS_MIN, JUDGED, ModelJudge, TokenScorer
from app.config import Settings
from eval.gold import load_gold
from eval.metrics import sentence_precise
from eval.responsive import auc

MAX_FALSE_REFUSAL = 0.05


def collect(settings: Settings, gold_path: Path, out: Path | None,
            evidence: bool = False) -> list[dict]:
    """The judged pairs of every gold question over the index of `settings`: its best
    `JUDGED` sentences, or with `evidence` the model's evidence lines."""
    from app.answer.evidence import gather
    from app.answer.generative import answer_evidence
    from app.answer.shape import question_shape
    from app.service import Citewise
    from ingest.progress import bar

    service = Citewise(settings)
    service.ingest()
    generator = service.generator
    if not isinstance(generator, TokenScorer):
        raise SystemExit("No language model that gives token probabilities is installed: "
                         "run `make install`.")
    judge = ModelJudge(generator)
    retriever = service.index.retriever()
    rows: list[dict] = []
    for q in bar(load_gold(gold_path), enabled=True, desc="judge", unit="question"):
        found = gather(retriever, q.question, settings.top_k, None, settings.abstain_threshold)
        if not found.answerable:
            continue
        judged = (answer_evidence(found, settings.llm_evidence, question_shape(found.question))[0]
                  if evidence else found.ranked[:JUDGED])
        for rank, cand in enumerate(judged):
            t0 = time.perf_counter()
            p = judge.probability(found.question, cand.readable)
            rows.append({"id": q.id, "answerable": q.answerable, "rank": rank, "p": p,
                         "label": bool(q.answerable and sentence_precise(
                             cand.display, q.key_points, q.quotes)),
                         "sentence": cand.readable,
                         "seconds": round(time.perf_counter() - t0, 3)})
    if out is not None:
        out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return rows


def fold(qid: str) -> int:
    return int(hashlib.sha1(qid.encode()).hexdigest(), 16) % 2


def decisions(rows: list[dict]) -> dict[str, tuple[bool, float]]:
    """Question id -> (answerable, the best P of its judged sentences)."""
    best: dict[str, tuple[bool, float]] = {}
    for r in rows:
        if r["p"] is None:
            continue
        ok, p = best.get(r["id"], (r["answerable"], 0.0))
        best[r["id"]] = (ok, max(p, r["p"]))
    return best


def refusals(best: dict[str, tuple[bool, float]], threshold: float) -> dict[str, object]:
    ans = [p for ok, p in best.values() if ok]
    unans = [p for ok, p in best.values() if not ok]
    return {"threshold": threshold,
            "false_refusal": round(sum(p < threshold for p in ans) / len(ans), 4)
            if ans else None, "answerable": len(ans),
            "refused_unanswerable": sum(p < threshold for p in unans),
            "unanswerable": len(unans)}


def report(rows: list[dict]) -> dict[str, object]:
    import numpy as np

    judged = [r for r in rows if r["p"] is not None]
    p = np.array([r["p"] for r in judged])
    y = np.array([r["label"] for r in judged], dtype=int)
    best = decisions(judged)
    grid = [t / 100 for t in range(5, 96)]
    folds = {}
    for held in (0, 1):
        fit = {k: v for k, v in best.items() if fold(k) != held}
        test = {k: v for k, v in best.items() if fold(k) == held}
        ok = [t for t in grid if (refusals(fit, t)["false_refusal"] or 0) <= MAX_FALSE_REFUSAL]
        chosen = max(ok) if ok else grid[0]
        folds[f"fitted on fold {1 - held}, scored on fold {held}"] = refusals(test, chosen)
    lines = {}
    for n in sorted({r["rank"] for r in judged}):
        at = [r for r in judged if r["rank"] == n and r["answerable"]]
        lines[f"line {n + 1}"] = {"lines": len(at), "answering": round(
            sum(r["label"] for r in at) / len(at), 4) if at else None}
    later = [r for r in judged if r["rank"] > 0 and r["answerable"]]
    yl = np.array([r["label"] for r in later], dtype=int)
    later_auc = (round(auc(np.array([r["p"] for r in later]), yl), 4)
                 if 0 < yl.sum() < len(yl) else None)
    return {"pairs": len(judged), "answering_pairs": int(y.sum()),
            "by_line": lines, "auc_after_the_first": later_auc,
            "auc": round(auc(p, y), 4) if 0 < y.sum() < len(y) else None,
            "seconds_a_pair": round(float(np.mean([r["seconds"] for r in judged])), 2),
            "at_answers_min": refusals(best, ANSWERS_MIN), "two_fold": folds}


def main(argv: list[str] | None = None) -> int:
    from app.environment import quiet_environment
    from eval.command import distractor_corpus

    quiet_environment()
    parser = argparse.ArgumentParser(prog="python -m eval.answerability", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold", type=Path, default=Path("eval/gold/questions.jsonl"))
    parser.add_argument("--distractors", type=int, default=3000)
    parser.add_argument("--evidence", action="store_true",
                        help="judge every evidence line the model is given (see 3. above)")
    parser.add_argument("--out", type=Path, default=None, help="keep the judged pairs")
    parser.add_argument("--from", dest="source", type=Path, default=None,
                        help="score pairs kept with --out, without the model")
    args = parser.parse_args(argv)
    if args.source is not None:
        rows = [json.loads(line) for line in args.source.read_text().splitlines() if line]
    else:
        settings = Settings()
        if args.distractors:
            settings = distractor_corpus(settings, args.distractors)
        rows = collect(settings, args.gold, args.out, args.evidence)
    print(json.dumps(report(rows), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
