"""A long PDF: time and peak memory (RSS) of reading it, and of ingesting it.

    .venv/bin/python bench/pdf_pages.py [--pages 500]

Builds an N-page PDF with fpdf2 (a few sentences of distinct text a page, as
tests/pdf_samples.py does) and, each in a fresh child process so that its peak RSS is its
own:

- read: `ingest.loaders.load_document` on the bytes (pypdf, page by page), then cleaning
  and chunking with a word-count tokenizer: what the reader child of an ingest does, and
  the page spans of every chunk;
- ingest: `Citewise.ingest()` of a folder holding only that PDF, with the test suite's fake
  embedder (the real model's time is the chunk count times its rate, `bench/reingest.py`),
  into the embedded Chroma.

Prints one JSON object: pages, chunks, seconds and peak RSS (MB) of each step.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_READ = """
import json, resource, sys, time
from pathlib import Path
from ingest.chunking import ChunkerSettings, chunk_document
from ingest.clean import clean
from ingest.loaders import load_document
data = Path(sys.argv[1]).read_bytes()
start = time.perf_counter()
loaded = load_document(Path("long.pdf"), data)
read_s = time.perf_counter() - start
doc = clean("long.pdf", "long.pdf", loaded.blocks)
chunks = chunk_document(doc, lambda t: len(t.split()), ChunkerSettings())
print(json.dumps({"pages": loaded.pages, "page_spans": len(doc.pages), "chunks": len(chunks),
                  "last_chunk_page": chunks[-1].page, "read_s": round(read_s, 2),
                  "read_clean_chunk_s": round(time.perf_counter() - start, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                       / 1024, 1)}))
"""

_INGEST = """
import json, resource, sys, time
from pathlib import Path
from app.config import Settings
from app.service import Citewise
from tests.fakes import HashingEmbedder
settings = Settings(sources_dir=Path(sys.argv[1]), index_dir=Path(sys.argv[2]), _env_file=None)
start = time.perf_counter()
summary = Citewise(settings, HashingEmbedder()).ingest()
print(json.dumps({"added": len(summary.added), "failed": summary.failed,
                  "pdf_pages": summary.pdf_pages, "chunks": summary.chunks_total,
                  "ingest_s": round(time.perf_counter() - start, 2),
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                       / 1024, 1),
                  "reader_child_peak_rss_mb": round(resource.getrusage(
                      resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)}))
"""


def _child(script: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, check=True,
                         capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
                              "ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=500)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.pdf_samples import many_pages

    with tempfile.TemporaryDirectory() as tmp:
        sources = Path(tmp) / "sources"
        sources.mkdir()
        pdf = sources / "long.pdf"
        pdf.write_bytes(many_pages(args.pages))
        result = {"pages_built": args.pages, "pdf_mb": round(pdf.stat().st_size / 1e6, 2),
                  "read": _child(_READ, str(pdf)),
                  "ingest": _child(_INGEST, str(sources), str(Path(tmp) / "index"))}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
