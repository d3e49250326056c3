"""Latency of generative answers: time to first token and total time, p50/p95.

    .venv/bin/python -m bench.generative [--limit N] [--evidence 4] [--threads 2]

Asks the gold questions (`eval/gold/questions.jsonl`, answerable ones first, up to
`--limit`) one after another in one process with the packaged model (or the model the
CITEWISE_LLM_* settings name), on the default sources' index (built if missing). The
model is loaded and the prompt cache warmed with one question that is not timed, as
`citewise serve` does at start-up. For each question it records, from the call:

- retrieval time;
- time to the first token of the model's reply (the user sees the draft start);
- total time to the verified answer;
- prompt size in tokens (counted by the model server, when it is llama.cpp's);

and whether the answer reached the model (questions that abstain at retrieval never do:
they are reported apart and left out of the first-token percentiles). Prints a table and
writes bench/out/generative.json with the machine's load, since other processes may share
the 2 cores.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.common import load_now, table, write_json


def percentile(values: list[float], q: float) -> float:
    from eval.metrics import percentile as p

    return round(p(values, q), 1) if values else float("nan")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--evidence", type=int, default=None,
                        help="evidence sentences in the prompt (default: the setting, 4)")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)

    from app.config import Settings
    from app.service import Citewise
    from eval.gold import load_gold

    overrides: dict = {"answer_mode": "generative"}
    if args.evidence:
        overrides["llm_evidence"] = args.evidence
    if args.threads:
        overrides["llm_threads"] = args.threads
    service = Citewise(Settings(**overrides))
    t0 = time.perf_counter()
    service.ingest()
    gold = load_gold(Path("eval/gold/questions.jsonl"))
    questions = sorted(gold, key=lambda q: not q.answerable)[:args.limit]
    load_s = time.perf_counter()
    service.ask("What is paraneoplastic neuromyopathy?")  # load the model, warm the cache
    warm_s = time.perf_counter() - load_s
    rows, records = [], []
    for q in questions:
        start = time.perf_counter()
        answer = service.ask(q.question)
        total = (time.perf_counter() - start) * 1000
        t = answer.timings
        records.append({"id": q.id, "kind": q.kind, "total_ms": round(total, 1),
                        "retrieve_ms": round(t.get("retrieve_ms", 0.0), 1),
                        "first_token_ms": round(t["first_token_ms"], 1)
                        if "first_token_ms" in t else None,
                        "abstained": answer.abstained, "mode": answer.mode,
                        "removed_sentences": len(answer.removed_sentences),
                        "load": load_now()})
    reached = [r for r in records if r["first_token_ms"] is not None]
    first = [r["first_token_ms"] for r in reached]
    totals = [r["total_ms"] for r in reached]
    summary = {
        "questions": len(records), "reached_model": len(reached),
        "first_token_p50_ms": percentile(first, 50), "first_token_p95_ms": percentile(first, 95),
        "total_p50_ms": percentile(totals, 50), "total_p95_ms": percentile(totals, 95),
        "model_load_and_warm_s": round(warm_s, 1), "setup_s": round(load_s - t0, 1),
        "generator": service.generator.name if service.generator else None,
        "evidence": service.settings.llm_evidence, "threads": service.settings.llm_threads,
    }
    rows.append(["first token (ms)", summary["first_token_p50_ms"],
                 summary["first_token_p95_ms"]])
    rows.append(["whole verified answer (ms)", summary["total_p50_ms"], summary["total_p95_ms"]])
    print(f"{len(reached)} of {len(records)} questions reached the model "
          f"({summary['generator']}, {summary['evidence']} evidence sentences, "
          f"{summary['threads']} threads); model load + warm-up "
          f"{summary['model_load_and_warm_s']} s")
    print(table(["generative answers", "p50", "p95"], rows))
    path = write_json("generative", {"summary": summary, "questions": records})
    print(f"written {path}")
    return summary


if __name__ == "__main__":
    main()
