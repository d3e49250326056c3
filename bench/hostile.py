"""Hostile input: time against size for the worst inputs of each format, and the cost of
reading files in a child process within a time budget (ingest/worker.py).

    .venv/bin/python -m bench.hostile [--max 65536] [--cases deep-divs,initials] [--docs 3000]

1. For each case (the worst inputs found for each format, see tests/test_hostile_input.py),
   doubling sizes from 1,024 (nesting depth, lines, repetitions) up to `--max`:
   - `load`: the file read into blocks in the child process (`Worker.run`, what
     CITEWISE_MAX_DOC_SECONDS bounds), and
   - `clean+chunk`: what the parent does with them (cleaning, sentence splitting, chunking
     with the abbreviations spelled out, with the fake embedder's token counter);
   and the ratio of each to the size before (linear: ~2x, quadratic: ~4x). Every file must
   come out with its sentence (or be refused with a reason, which is printed).
2. The child process's overhead on many small files: `_read` of index/sync.py (read, load,
   clean every file) on `--docs` real PubMed abstracts (the eval's distractors go through
   the same sync), in this process (`max_doc_seconds=None`) and in the child (60 s), best
   of three; and one whole ingest of them with the fake embedder, for scale.

Writes bench/out/hostile.json.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import load_now, pubmed_corpus, table, write_json

SENTENCE = ("Lambert-Eaton myasthenic syndrome is an autoimmune disorder of the neuromuscular "
            "junction.")


def _pdf(lines: list[str], per_page: int = 400) -> bytes:
    from tests.test_hostile_input import _pdf as pdf
    from tests.test_hostile_input import _pdf_lines

    pages = [lines[i:i + per_page] for i in range(0, len(lines), per_page)]
    return pdf([_pdf_lines(page) for page in pages])


def _abbreviations(n: int) -> str:
    from tests.test_hostile_input import _abbreviations as make

    return make(n)


# case -> (format, what the size counts, size -> file content); the first of each format is
# the one that hung before (or the slowest now).
CASES: dict[str, tuple[str, str, Callable[[int], bytes]]] = {
    "deep-divs": ("html", "nesting depth",
                  lambda n: ("<div>" * n + SENTENCE + "</div>" * n).encode()),
    "open-attribute": ("html", "open tags",
                       lambda n: (f"<p>{SENTENCE}</p>" + "<a x='" * n).encode()),
    "html-tiny-blocks": ("html", "blocks",
                         lambda n: ("<p>x</p>" * n + f"<p>{SENTENCE}</p>").encode()),
    "deep-list": ("md", "nesting depth", lambda n: ("- " * n + SENTENCE).encode()),
    "deep-quote": ("md", "nesting depth", lambda n: (">" * n + " " + SENTENCE).encode()),
    "brackets": ("md", "brackets", lambda n: ("[" * n + SENTENCE + "]" * n).encode()),
    "md-tiny-blocks": ("md", "blocks", lambda n: ("x\n\n" * n + SENTENCE).encode()),
    "initials": ("txt", "repetitions", lambda n: ("Dr. Smith " * n + SENTENCE).encode()),
    "abbreviations": ("txt", "definitions", lambda n: (_abbreviations(n) + SENTENCE).encode()),
    "one-line": ("txt", "words", lambda n: ("word " * n + SENTENCE).encode()),
    "tiny-lines": ("txt", "lines", lambda n: ("x\n" * n + SENTENCE).encode()),
    "pdf-lines": ("pdf", "lines", lambda n: _pdf(["x"] * n + [SENTENCE])),
    "pdf-one-line": ("pdf", "words", lambda n: _pdf(["word " * n + SENTENCE])),
}


def measure(case: str, n: int, worker) -> dict:
    from ingest.chunking import ChunkerSettings, chunk_document, chunk_sentences
    from ingest.clean import clean
    from ingest.loaders import Block

    fmt, _, make = CASES[case]
    data = make(n)
    name = f"{case}.{fmt}"
    start = time.perf_counter()
    [(_, out)] = list(worker.run([(name, (name, data, 20_000_000))]))
    load_s = time.perf_counter() - start
    if isinstance(out, Exception):
        return {"case": case, "n": n, "bytes": len(data), "load_s": load_s, "clean_chunk_s": 0.0,
                "outcome": f"failed: {out}"}
    start = time.perf_counter()
    doc = clean(name, name, [Block(*b) for b in out[1]])
    chunks = chunk_document(doc, lambda text: len(text.split()) + 2, ChunkerSettings())
    chunk_sentences(chunks)
    clean_chunk_s = time.perf_counter() - start
    outcome = "sentence kept" if SENTENCE[-40:] in doc.text else "SENTENCE LOST"
    return {"case": case, "n": n, "bytes": len(data), "load_s": load_s,
            "clean_chunk_s": clean_chunk_s, "chunks": len(chunks), "outcome": outcome}


def scaling(cases: list[str], sizes: list[int]) -> list[dict]:
    from ingest.worker import Worker

    rows = []
    with Worker(600.0) as worker:
        for case in cases:
            measure(case, 256, worker)  # warm-up: the first file of a kind imports its parser
            for n in sizes:
                rows.append(measure(case, n, worker))
                r = rows[-1]
                print(f"  {case} {n}: load {r['load_s']:.3f} s, clean+chunk "
                      f"{r['clean_chunk_s']:.3f} s, {r['outcome']}", flush=True)
    return rows


def overhead(docs: int) -> dict:
    from index.sync import IngestSummary, _read

    work = Path(tempfile.mkdtemp(prefix="citewise-hostile-"))
    sources = work / "sources"
    n = pubmed_corpus(sources, docs)
    files = sorted(sources.rglob("*.txt"))
    out: dict = {"docs": n, "bytes": sum(f.stat().st_size for f in files)}
    for label, seconds in [("in_process", None), ("child", 60.0)]:
        times = []
        for _ in range(3):
            start = time.perf_counter()
            read, failed = _read(files, sources, IngestSummary(), False, 20_000_000, seconds)
            times.append(time.perf_counter() - start)
            assert len(read) + len(failed) == len(files)
        out[f"{label}_s"] = min(times)
        out[f"{label}_all_s"] = times
    out["overhead_s"] = out["child_s"] - out["in_process_s"]

    from app.config import Settings
    from app.service import Citewise
    from tests.fakes import HashingEmbedder

    settings = Settings(sources_dir=sources, index_dir=work / "index", _env_file=None)
    start = time.perf_counter()
    summary = Citewise(settings, HashingEmbedder()).ingest()
    out["ingest_fake_embedder_s"] = time.perf_counter() - start
    out["ingest_added"] = len(summary.added)
    return out


def _ratio(row: dict, prev: dict | None, key: str) -> str:
    """Seconds against those of the size before (below 2 ms a ratio means nothing)."""
    return f"{row[key] / prev[key]:.2f}x" if prev and prev[key] > 0.002 else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=65536, help="largest size")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--docs", type=int, default=3000, help="small files for the overhead "
                                                               "(0: skip)")
    args = parser.parse_args()
    sizes = [1024]
    while sizes[-1] * 2 <= args.max:
        sizes.append(sizes[-1] * 2)
    cases = args.cases.split(",")
    load_before = load_now()
    rows = scaling(cases, sizes)

    print()
    body = []
    for case in cases:
        fmt, unit, _ = CASES[case]
        mine = [r for r in rows if r["case"] == case]
        for prev, r in zip([None, *mine], mine, strict=False):
            body.append([fmt, case, f"{r['n']:,} {unit}", f"{r['bytes'] / 1e6:.2f}",
                         f"{r['load_s']:.3f}", _ratio(r, prev, "load_s"),
                         f"{r['clean_chunk_s']:.3f}", _ratio(r, prev, "clean_chunk_s"),
                         r["outcome"]])
    print(table(["format", "case", "size", "MB", "load s (child)", "ratio",
                 "clean+chunk s", "ratio", "outcome"], body))

    result: dict = {"sizes": sizes, "rows": rows, "load_before": load_before}
    if args.docs:
        print(f"\nchild-process overhead on {args.docs} small files ...", flush=True)
        result["overhead"] = over = overhead(args.docs)
        print(table(["files", "MB", "read+load+clean in process s", "in the child s",
                     "overhead s", "whole ingest (fake embedder) s"],
                    [[over["docs"], f"{over['bytes'] / 1e6:.1f}", f"{over['in_process_s']:.2f}",
                      f"{over['child_s']:.2f}", f"{over['overhead_s']:+.2f}",
                      f"{over['ingest_fake_embedder_s']:.1f}"]]))
    result["load_after"] = load_now()
    print(f"\nload average before/after: {load_before} / {result['load_after']}")
    print(f"wrote {write_json('hostile', result)}")


if __name__ == "__main__":
    main()
