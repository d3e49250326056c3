"""Fit and measure the responsiveness judge (`app.answer.responsive`).

    python -m eval.responsive [--gold eval/gold/questions.jsonl] [--distractors 3000]
                              [--write]

1. Labelled pairs: for every gold question, over the default sources and over the sources
   plus `--distractors` PubMed abstracts, every candidate sentence the evidence stage
   reranks (`app.answer.evidence`), labelled 1 when it carries a key point of the gold
   answer or lies within a gold quote (`eval.metrics.sentence_precise`, the answer-precision
   rule) and 0 otherwise; every candidate of an unanswerable question is 0.
2. Two-fold cross-validation by question (a question and all its pairs, over both corpora,
   are in one fold; folds by a hash of the id): fit on one fold, measure on the other.
   Printed per held-out fold: the pairs' ROC AUC and balanced accuracy at `keep`, and per
   question the refusals on unanswerable and answerable ones at `answers`.
3. The judge written with `--write` is fitted on all questions; its JSON carries the
   cross-validated figures, so what is claimed for it was measured on questions it was not
   fitted on.

The fit is an L2-regularised logistic regression (Newton's method, classes balanced);
`answers` is the lowest best-candidate probability that keeps false refusals within
`MAX_FALSE_REFUSAL` of the fitting fold's answerable questions, and `keep` the probability
that keeps `KEEP_RECALL` of its answering sentences.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.answer.evidence import candidates, pairs, rerank, without_instructions
from app.answer.responsive import FEATURES, WEIGHTS, Judge, features
from app.answer.shape import question_shape
from app.config import Settings
from eval.gold import GoldQuestion, load_gold
from eval.metrics import sentence_precise

L2 = 5.0
MAX_FALSE_REFUSAL = 0.02
KEEP_RECALL = 0.95


@dataclass
class Question:
    gold: GoldQuestion
    corpus: str
    x: np.ndarray  # one row per candidate
    y: np.ndarray  # 1 = the candidate answers

    @property
    def fold(self) -> int:
        return int(hashlib.sha1(self.gold.id.encode()).hexdigest(), 16) % 2


def collect(settings: Settings, gold: list[GoldQuestion], corpus: str) -> list[Question]:
    """The labelled candidates of every gold question over the index of `settings`."""
    from app.service import Citewise

    service = Citewise(settings)
    service.ingest()
    retriever = service.index.retriever()
    out = []
    for q in gold:
        question = without_instructions(q.question)
        hits = retriever.search(question, settings.top_k)
        ranked = rerank(question, candidates(hits))
        if not ranked:
            continue
        x = np.array(features(question, pairs(ranked, hits), question_shape(question)))
        y = np.array([q.answerable and sentence_precise(c.display, q.key_points, q.quotes)
                      for c in ranked], dtype=float)
        out.append(Question(q, corpus, x, y))
    service.index.close()
    return out


def fit(x: np.ndarray, y: np.ndarray, l2: float = L2) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray, float]:
    """(mean, scale, weights, bias) of a class-balanced L2 logistic regression."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
    pos = y.mean()
    sample = np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos))
    w = np.zeros(z.shape[1])
    ridge = np.eye(z.shape[1]) * l2
    ridge[-1, -1] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-z @ w))
        grad = z.T @ (sample * (p - y)) + ridge @ w
        hess = (z * (sample * p * (1 - p))[:, None]).T @ z + ridge
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return mean, scale, w[:-1], float(w[-1])


def judge_of(questions: list[Question]) -> Judge:
    x = np.vstack([q.x for q in questions])
    y = np.concatenate([q.y for q in questions])
    mean, scale, weights, bias = fit(x, y)
    draft = Judge(tuple(mean), tuple(scale), tuple(weights), bias, 0.0, 0.0)
    probs = [_probs(draft, q) for q in questions]
    answerable = sorted(float(p.max()) for p, q in zip(probs, questions, strict=True)
                        if q.gold.answerable)
    answers = answerable[int(MAX_FALSE_REFUSAL * len(answerable))] - 1e-6
    positive = np.sort(np.concatenate([p[q.y == 1] for p, q in zip(probs, questions,
                                                                    strict=True)]))
    keep = float(positive[int((1 - KEEP_RECALL) * len(positive))]) - 1e-6
    return Judge(tuple(mean), tuple(scale), tuple(weights), bias, keep, answers)


def _probs(judge: Judge, q: Question) -> np.ndarray:
    z = judge.bias + ((q.x - np.array(judge.mean)) / np.array(judge.scale)) @ np.array(
        judge.weights)
    return 1 / (1 + np.exp(-z))


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC by ranks (ties count half)."""
    order = scores.argsort()
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # average ranks of ties
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    pos = labels == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def measure(judge: Judge, questions: list[Question]) -> dict[str, float | None]:
    """The judge's figures on `questions`: pairs and per-question decisions."""
    probs = [_probs(judge, q) for q in questions]
    p = np.concatenate(probs)
    y = np.concatenate([q.y for q in questions])
    kept = p >= judge.keep
    answerable = [q.gold.answerable for q in questions]
    answered = [float(pr.max()) >= judge.answers for pr in probs]
    unans = [a for a, ok in zip(answered, answerable, strict=True) if not ok]
    ans = [a for a, ok in zip(answered, answerable, strict=True) if ok]
    return {
        "pairs": int(len(y)), "answering_pairs": int(y.sum()),
        "auc": round(auc(p, y), 4),
        "kept_recall": round(float(kept[y == 1].mean()), 4),
        "dropped_of_not_answering": round(float((~kept[y == 0]).mean()), 4),
        "balanced_accuracy": round(float((kept[y == 1].mean() + (~kept[y == 0]).mean()) / 2),
                                   4),
        "refusal_on_unanswerable": round(1 - sum(unans) / len(unans), 4) if unans else None,
        "false_refusal": round(1 - sum(ans) / len(ans), 4) if ans else None,
    }


def main(argv: list[str] | None = None) -> int:
    from app.environment import quiet_environment
    from eval.command import distractor_corpus

    quiet_environment()
    parser = argparse.ArgumentParser(prog="python -m eval.responsive", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gold", type=Path, default=Path("eval/gold/questions.jsonl"))
    parser.add_argument("--distractors", type=int, default=3000,
                        help="PubMed abstracts added for the second corpus (0: none)")
    parser.add_argument("--write", action="store_true", help=f"write {WEIGHTS}")
    parser.add_argument("--fit-fold", type=int, choices=(0, 1), default=None,
                        help="fit the written judge on this fold's questions only (to "
                             "measure answers on the other fold's)")
    args = parser.parse_args(argv)
    gold = load_gold(args.gold)
    settings = Settings()
    questions = collect(settings, gold, "plain")
    if args.distractors:
        questions += collect(distractor_corpus(settings, args.distractors), gold,
                             f"distractors-{args.distractors}")
    folds = {}
    for held in (0, 1):
        judge = judge_of([q for q in questions if q.fold != held])
        test = [q for q in questions if q.fold == held]
        folds[f"fold{held}"] = {corpus: measure(judge, [q for q in test if q.corpus == corpus])
                                for corpus in sorted({q.corpus for q in test})}
    print(json.dumps(folds, indent=1))
    fitted = [q for q in questions if args.fit_fold is None or q.fold == args.fit_fold]
    judge = judge_of(fitted)
    print(f"fitted on {len(fitted)} question runs:", json.dumps(measure(judge, questions)))
    for name, w in sorted(zip(FEATURES, judge.weights, strict=True), key=lambda t: -abs(t[1])):
        print(f"  {name:18} {w:+.3f}")
    print(f"keep {judge.keep:.3f}  answers {judge.answers:.3f}")
    if args.write:
        WEIGHTS.write_text(judge.to_json(
            fitted_on=f"{args.gold} ({len(gold)} questions) over the default sources"
                      + (f" and with {args.distractors} distractors" if args.distractors
                         else "") + (f", fold {args.fit_fold} only" if args.fit_fold
                                     is not None else ""),
            cross_validated=folds) + "\n", encoding="utf-8")
        print(f"wrote {WEIGHTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
