"""Query latency, peak memory and index size at growing corpus sizes.

    .venv/bin/python -m bench.query [--sizes 1000 10000 100000] [--fake-from 100000]
                                    [--queries 100] [--work DIR]

For each size (a number of chunks, approximately: documents are added until the chunk
count is reached) an index is built in a child process, then questioned in another:

- corpus: real PubMed abstracts (`bench.common.pubmed_corpus`) first; past the ~31k real
  ones, seeded synthetic documents made of real abstract sentences (`synthetic_docs`);
- build: `Citewise.ingest()` with the real packaged model, except at sizes >= `--fake-from`
  (default 100000), where a fast fake embedder computes the stored vectors: a bag of
  seeded random word vectors (texts sharing words are near, so the HNSW graph has structure
  like real vectors do), under the real model's name and dimension, and the real tokenizer
  so the chunks are exactly the real ones. **Only the build is fake**: every question is
  embedded by the real model;
- questions: the gold set's questions (`eval/gold/questions.jsonl`), cycled up to
  `--queries`, after 5 warm-up questions; the first (cold) question is reported apart.
  "retrieval" is `HybridRetriever.search(q, k=5)` (embedding the question, two vector
  searches, BM25, fusion, fetching chunks and sentence vectors); "answer" is
  `Citewise.ask(q, mode="extractive")`, the whole extractive answer (retrieval included).
- memory: the peak RSS of the build child and of the query child; index size: the index
  folder on disk.

Writes bench/out/query.json (or `--name`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import (
    all_abstracts,
    dir_mb,
    load_now,
    peak_rss_mb,
    percentile,
    questions,
    run_child,
    synthetic_docs,
    table,
    write_json,
)

CHUNKS_PER_DOC = 3.2  # measured on PubMed abstracts (160-token chunks); only a first guess


class FakeBuildEmbedder:
    """Fast stand-in for building big indexes: the real model's name, dimension and
    tokenizer; vectors are normalised sums of seeded random word vectors."""

    def __init__(self, real):
        self._real = real
        self.name = real.name
        self._words: dict[str, np.ndarray] = {}

    @property
    def dim(self) -> int:
        return self._real.dim

    @property
    def max_tokens(self) -> int:
        return self._real.max_tokens

    def count_tokens(self, text: str) -> int:
        return self._real.count_tokens(text)

    def _word(self, word: str) -> np.ndarray:
        vec = self._words.get(word)
        if vec is None:
            seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "little")
            vec = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            self._words[word] = vec
        return vec

    def embed_documents(self, texts, progress=None) -> np.ndarray:
        from ingest.text import search_words as tokenize

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            words = tokenize(text) or ["_empty_"]
            v = np.sum([self._word(w) for w in words], axis=0)
            out[i] = v / (np.linalg.norm(v) or 1.0)
        if progress:
            progress(len(texts))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]


def write_sources(folder: Path, n_docs: int) -> int:
    """`n_docs` documents: real abstracts first, then synthetic ones."""
    from eval.distractors import write_corpus

    folder.mkdir(parents=True, exist_ok=True)
    abstracts = all_abstracts()
    real = abstracts[:n_docs]
    write_corpus(real, folder)
    for name, text in synthetic_docs(max(0, n_docs - len(real)), seed=0, abstracts=abstracts):
        path = folder / name
        if not path.exists():
            path.write_text(text)
    return n_docs


def build(args: argparse.Namespace) -> None:
    """Child: ingest until the index holds about `args.size` chunks; print a JSON line."""
    from app.config import Settings
    from app.service import Citewise
    from index.embedder import make_embedder

    real = make_embedder(args.model, 32)
    embedder = FakeBuildEmbedder(real) if args.fake else real
    sources, index_dir = Path(args.sources), Path(args.index)
    settings = Settings(sources_dir=sources, index_dir=index_dir, embedding_model=args.model,
                        _env_file=None)
    n_docs = max(1, round(args.size / CHUNKS_PER_DOC))
    t0 = time.perf_counter()
    while True:
        write_sources(sources, n_docs)
        summary = Citewise(settings, embedder=embedder).ingest()
        if summary.chunks_total >= args.size * 0.97:
            break
        # too few chunks: add documents in proportion and ingest again (incremental)
        n_docs = int(n_docs * args.size / max(summary.chunks_total, 1)) + 1
    print(json.dumps({"docs": n_docs, "chunks": summary.chunks_total,
                      "build_s": time.perf_counter() - t0}))


def query(args: argparse.Namespace) -> None:
    """Child: question the index with the real model; print a JSON line of timings."""
    from app.config import Settings
    from app.service import Citewise
    from index.embedder import make_embedder

    settings = Settings(sources_dir=Path(args.sources), index_dir=Path(args.index),
                        embedding_model=args.model, answer_mode="extractive", _env_file=None)
    service = Citewise(settings, embedder=make_embedder(args.model, 32))
    qs = questions()
    t0 = time.perf_counter()
    service.ask(qs[0], mode="extractive")  # cold: loads the model, opens Chroma, loads BM25
    cold = time.perf_counter() - t0
    retriever = service.index.retriever()
    for q in qs[1:6]:
        service.ask(q, mode="extractive")
    retrieve_ms, answer_ms, stages = [], [], {"embed": [], "bm25": []}
    for i in range(args.queries):
        q = qs[i % len(qs)]
        t = time.perf_counter()
        retriever.search(q, settings.top_k)
        retrieve_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        service.ask(q, mode="extractive")
        answer_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        service.embedder.embed_query(q)
        stages["embed"].append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        service.index.lexical.search(q, 20)
        stages["bm25"].append((time.perf_counter() - t) * 1000)
    print(json.dumps({
        "cold_first_answer_s": cold,
        "retrieve_p50_ms": percentile(retrieve_ms, 50),
        "retrieve_p95_ms": percentile(retrieve_ms, 95),
        "answer_p50_ms": percentile(answer_ms, 50),
        "answer_p95_ms": percentile(answer_ms, 95),
        "embed_query_p50_ms": percentile(stages["embed"], 50),
        "bm25_p50_ms": percentile(stages["bm25"], 50),
        "bm25_p95_ms": percentile(stages["bm25"], 95),
        "queries": args.queries,
        "peak_rss_mb_self": peak_rss_mb(),
    }))


def print_rows(rows: list[dict]) -> None:
    headers = ["chunks", "docs", "build vectors", "build s", "build peak RSS MB",
               "index MB", "retrieval p50 ms", "retrieval p95 ms", "answer p50 ms",
               "answer p95 ms", "embed q p50 ms", "BM25 p50 ms", "query peak RSS MB",
               "cold first answer s"]
    print(table(headers, [[r["chunks"], r["docs"], "fake" if r["fake"] else "real model",
                           r["build_s"], r["build_rss_mb"], r["index_mb"],
                           r["retrieve_p50_ms"], r["retrieve_p95_ms"], r["answer_p50_ms"],
                           r["answer_p95_ms"], r["embed_query_p50_ms"], r["bm25_p50_ms"],
                           r["query_rss_mb"], r["cold_first_answer_s"]] for r in rows]))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", nargs="?", choices=["all", "build", "query"], default="all")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--fake-from", type=int, default=100000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--work", type=Path, default=None,
                        help="keeps the indexes; a size already built there is reused")
    parser.add_argument("--name", default="query")
    parser.add_argument("--build-only", action="store_true",
                        help="build the indexes into --work, question none")
    # for the child steps
    parser.add_argument("--size", type=int)
    parser.add_argument("--fake", action="store_true")
    parser.add_argument("--sources")
    parser.add_argument("--index")
    args = parser.parse_args(argv)
    if args.step == "build":
        build(args)
        return {}
    if args.step == "query":
        query(args)
        return {}

    work = args.work or Path(tempfile.mkdtemp(prefix="citewise-bench-query-"))
    rows = []
    for size in args.sizes:
        fake = size >= args.fake_from
        folder = work / f"{size}-{'fake' if fake else args.model}"
        common = ["--sources", str(folder / "sources"), "--index", str(folder / "index"),
                  "--model", args.model]
        row: dict = {"size": size, "fake": fake, "load_before_build": load_now()}
        built = folder / "build.json"
        if built.exists():
            row.update(json.loads(built.read_text()))
        else:
            seconds, rss, out, _ = run_child(
                [sys.executable, "-m", "bench.query", "build", "--size", str(size), *common]
                + (["--fake"] if fake else []))
            row.update(json.loads(out.strip().splitlines()[-1]), build_rss_mb=rss)
            built.write_text(json.dumps({k: row[k] for k in
                                         ("docs", "chunks", "build_s", "build_rss_mb")}))
        if args.build_only:
            continue
        row["index_mb"] = dir_mb(folder / "index")
        row["load_before_query"] = load_now()
        _, rss, out, _ = run_child([sys.executable, "-m", "bench.query", "query",
                                    "--queries", str(args.queries), *common])
        row.update(json.loads(out.strip().splitlines()[-1]), query_rss_mb=rss)
        rows.append(row)
        print_rows(rows)
    path = write_json(args.name, {"model": args.model, "rows": rows,
                                  "note": "sizes >= fake_from built with a fake embedder; "
                                          "questions always embedded by the real model",
                                  "fake_from": args.fake_from})
    print(f"wrote {path}")
    return {"rows": rows}


if __name__ == "__main__":
    main()
