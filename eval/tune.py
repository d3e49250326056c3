"""Measure chunk sizes and calibrate the abstention threshold on a gold set.

    python -m eval.tune [--gold eval/gold/questions.jsonl] [--sizes 96,128,160,200,256]

For each chunk size it builds a fresh index of the sources in a temporary folder and prints
retrieval metrics over the gold quotes (recall@1/3/5, MRR@10), the share of answerable
questions whose selected answer sentences contain a gold quote, their key-point coverage
(of answers made with no abstention by score), and the best-sentence score
that decides abstention. The threshold printed is the midpoint of the widest score gap that
keeps every answerable question answered and refuses the most unanswerable ones; ties are
broken by balanced accuracy.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from app.answer.evidence import candidates
from app.answer.extractive import ExtractiveAnswerer
from app.config import Settings
from app.service import Citewise
from eval.metrics import key_point_coverage, mean_defined, mrr_at_k, quote_in, recall_at_k


def load_gold(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def best_scores(service: Citewise, gold: list[dict], k: int) -> list[dict]:
    retriever = service.index.retriever()
    answerer = ExtractiveAnswerer(retriever, abstain_threshold=-1.0,
                                  max_sentences=service.settings.max_answer_sentences)
    rows = []
    for q in gold:
        hits = retriever.search(q["question"], 10)
        texts = [h.chunk.text for h in hits]
        quotes = [s["quote"] for s in q["sources"]]
        answer = answerer.answer(q["question"], k)
        cands = candidates(list(answer.hits))
        # abstention compares the best candidate's retrieval score with the threshold (the
        # answer's own sentence scores include the lexical rerank); an answer refused for
        # another reason (no figure of the kind asked) is refused at any threshold
        best = cands[0].score if cands and not answer.abstained else -1.0
        answer_hit = any(quote_in(c.quote, qt) or quote_in(qt, c.quote)
                         for c in answer.citations for qt in quotes) if quotes else None
        rows.append({"id": q["id"], "kind": q["kind"], "answerable": q["answerable"],
                     "best": best, "n_cands": len(cands),
                     "r1": recall_at_k(texts, quotes, 1), "r3": recall_at_k(texts, quotes, 3),
                     "r5": recall_at_k(texts, quotes, 5), "mrr": mrr_at_k(texts, quotes, 10),
                     "answer_hit": answer_hit, "answer": answer.text,
                     "key_points": key_point_coverage(answer.text, q.get("key_points", []))})
    return rows


def calibrate(rows: list[dict]) -> tuple[float, float, float]:
    """(threshold, refusal rate on unanswerable, false refusal rate on answerable)."""
    pos = np.array([r["best"] for r in rows if r["answerable"]])
    neg = np.array([r["best"] for r in rows if not r["answerable"]])
    cuts = np.unique(np.concatenate([pos, neg]))
    best = (-1.0, -1.0, 0.0, 0.0)  # (score, threshold, refusal, false refusal)
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        t = (lo + hi) / 2
        refusal = float(np.mean(neg < t)) if len(neg) else 0.0
        false_refusal = float(np.mean(pos < t)) if len(pos) else 0.0
        score = (refusal + (1 - false_refusal)) / 2 - (1.0 if false_refusal > 0.05 else 0.0)
        if score > best[0]:
            best = (score, t, refusal, false_refusal)
    return best[1], best[2], best[3]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gold", type=Path, default=Path("eval/gold/questions.jsonl"))
    parser.add_argument("--sizes", default="96,128,160,200,256")
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    gold = load_gold(args.gold)
    embedder = None
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(index_dir=Path(tmp), chunk_tokens=size,
                                chunk_overlap=args.overlap)
            service = Citewise(settings, embedder)
            summary = service.ingest()
            embedder = service.embedder
            rows = best_scores(service, gold, args.k)
            threshold, refusal, false_refusal = calibrate(rows)
            ans = [r for r in rows if r["answerable"]]
            print(f"chunk_tokens={size:4d} overlap={args.overlap} chunks={summary.chunks_total:3d}"
                  f"  R@1={mean_defined(r['r1'] for r in ans):.3f}"
                  f" R@3={mean_defined(r['r3'] for r in ans):.3f}"
                  f" R@5={mean_defined(r['r5'] for r in ans):.3f}"
                  f" MRR@10={mean_defined(r['mrr'] for r in ans):.3f}"
                  f"  answer-has-gold={np.mean([bool(r['answer_hit']) for r in ans]):.3f}"
                  f" key-points={mean_defined(r['key_points'] for r in ans):.3f}"
                  f"  threshold={threshold:.3f} refusal={refusal:.2f}"
                  f" false-refusal={false_refusal:.2f}")
            if args.verbose:
                for r in sorted(rows, key=lambda r: r["best"]):
                    print(f"  {r['id']} {r['kind']:13s} ans={int(r['answerable'])} "
                          f"best={r['best']:.3f} hit={r['answer_hit']}  {r['answer'][:90]}")
            service.index.close()


if __name__ == "__main__":
    main()
