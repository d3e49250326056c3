"""Quality and speed of the int8 ONNX embedder (`all-MiniLM-L6-v2-int8`) against fp32.

    .venv/bin/python -m bench.int8 [--docs 100] [--no-eval]

1. Vectors: the chunk texts and sentences of `--docs` PubMed abstracts, chunked as
   citewise chunks them, embedded by both models (batch 32, after a warm-up): mean, 1st
   percentile and minimum cosine between the two vectors of each text, and texts/s of each.
2. Gold set: `citewise eval --json` run twice as a user would, with
   CITEWISE_EMBEDDING_MODEL=all-MiniLM-L6-v2 and =all-MiniLM-L6-v2-int8, each with its own
   fresh CITEWISE_INDEX_DIR; the retrieval metrics side by side and their difference
   (target: every one within 0.01).

Writes bench/out/int8.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import ROOT, load_now, pubmed_corpus, table, write_json

CITEWISE = Path(sys.executable).parent / "citewise"
FP32, INT8 = "all-MiniLM-L6-v2", "all-MiniLM-L6-v2-int8"


def corpus_texts(n_docs: int, work: Path, embedder) -> list[str]:
    from app.config import Settings
    from ingest.chunking import chunk_document, chunk_sentences
    from ingest.clean import clean
    from ingest.loaders import load

    sources = work / "sources"
    pubmed_corpus(sources, n_docs)
    chunker = Settings(_env_file=None).chunker(embedder.max_tokens)
    texts: list[str] = []
    for path in sorted(sources.glob("*.txt")):
        doc = clean(path.name, str(path), load(path))
        chunks = chunk_document(doc, embedder.count_tokens, chunker)
        texts += [c.embed_text() for c in chunks]
        texts += [s.embed_text for s in chunk_sentences(chunks)]
    return list(dict.fromkeys(texts))


def compare_vectors(n_docs: int, work: Path) -> dict:
    from index.embedder import make_embedder

    fp32, int8 = make_embedder(FP32, 32), make_embedder(INT8, 32)
    texts = corpus_texts(n_docs, work, fp32)
    out: dict = {"docs": n_docs, "texts": len(texts)}
    vecs = {}
    for name, embedder in ((FP32, fp32), (INT8, int8)):
        embedder.embed_documents(["warm up the model"] * 4)
        out[f"load_{name}"] = load_now()
        t0, c0 = time.perf_counter(), time.process_time()
        vecs[name] = embedder.embed_documents(texts)
        out[f"{name}_s"] = time.perf_counter() - t0
        out[f"{name}_cpu_s"] = time.process_time() - c0
        out[f"{name}_texts_per_s"] = len(texts) / out[f"{name}_s"]
    cos = (vecs[FP32] * vecs[INT8]).sum(axis=1)
    out.update(cos_mean=float(cos.mean()), cos_p1=float(np.percentile(cos, 1)),
               cos_min=float(cos.min()), speedup=out[f"{FP32}_s"] / out[f"{INT8}_s"])
    return out


def gold_eval(model: str, work: Path) -> dict:
    env = {**os.environ, "CITEWISE_EMBEDDING_MODEL": model,
           "CITEWISE_INDEX_DIR": str(work / f"eval-index-{model}")}
    t0 = time.perf_counter()
    proc = subprocess.run([str(CITEWISE), "eval", "--json"], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    if not proc.stdout.strip():
        raise RuntimeError(f"citewise eval ({model}) printed nothing:\n{proc.stderr[-3000:]}")
    metrics = json.loads(proc.stdout)
    return {"seconds": time.perf_counter() - t0, "exit_code": proc.returncode,
            "retrieval": metrics["retrieval"], "answer": metrics.get("answer", {})}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100)
    parser.add_argument("--no-eval", action="store_true")
    parser.add_argument("--name", default="int8")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="citewise-bench-int8-"))

    result: dict = {"vectors": compare_vectors(args.docs, work)}
    v = result["vectors"]
    print(table(["texts", "mean cosine", "p1 cosine", "min cosine", "fp32 texts/s",
                 "int8 texts/s", "int8 speed-up"],
                [[v["texts"], f"{v['cos_mean']:.4f}", f"{v['cos_p1']:.4f}",
                  f"{v['cos_min']:.4f}", v[f"{FP32}_texts_per_s"], v[f"{INT8}_texts_per_s"],
                  v["speedup"]]]))
    if not args.no_eval:
        evals = {model: gold_eval(model, work) for model in (FP32, INT8)}
        keys = [k for k, x in evals[FP32]["retrieval"].items() if isinstance(x, int | float)]
        diffs = {k: evals[INT8]["retrieval"][k] - evals[FP32]["retrieval"][k] for k in keys}
        result["eval"] = evals
        result["retrieval_diff"] = diffs
        result["within_0.01"] = all(abs(d) <= 0.01 + 1e-9 for d in diffs.values())
        print(table(["metric", "fp32", "int8", "int8 - fp32"],
                    [[k, f"{evals[FP32]['retrieval'][k]:.3f}",
                      f"{evals[INT8]['retrieval'][k]:.3f}", f"{diffs[k]:+.3f}"]
                     for k in keys]))
    path = write_json(args.name, result)
    print(f"wrote {path}")
    return result


if __name__ == "__main__":
    main()
