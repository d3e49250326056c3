"""One very large text file: peak memory (RSS) and time of `citewise ingest` on it.

    .venv/bin/python bench/big_file.py [--mb 50] [--full] [--rate]

Writes a MB-sized .txt of distinct sentences (seeded random medical words; nothing repeats,
so no vector can be reused) into a temporary sources folder and runs ingest in a child
process, reporting the child's peak RSS:

- default: the real CLI with the default settings: the file is read, measured and refused
  (CITEWISE_MAX_DOC_MB, 20 MB of text), and listed as failed with the reason;
- --full: CITEWISE_MAX_DOC_MB raised so the file is ingested whole, with the test suite's
  fake embedder (the real model would take hours, see --rate) into the embedded Chroma;
- --rate: embeds the first 2,000 chunks' texts with the real packaged model and projects
  the time the real model would need for the whole file.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORDS = ("muscle weakness antibody calcium channel tumour thymoma lung cancer nerve junction "
         "therapy patient syndrome fatigue reflex biopsy serum marker onset plasma exchange "
         "steroid remission tremor ataxia neuropathy carcinoma autoimmunity receptor "
         "potassium electrode fibre signal recovery cohort screening imaging").split()


def write_file(path: Path, mb: int) -> None:
    rng = random.Random(0)
    target, written, n = mb * 1_000_000, 0, 0
    with path.open("w") as f:
        while written < target:
            sentences = []
            for _ in range(rng.randint(3, 8)):
                n += 1
                words = [rng.choice(WORDS) for _ in range(rng.randint(8, 25))]
                sentences.append(" ".join(words).capitalize() + f" (case {n}).")
            paragraph = " ".join(sentences) + "\n\n"
            f.write(paragraph)
            written += len(paragraph)


def run_child(argv: list[str], env: dict[str, str]) -> tuple[float, int, str, str]:
    """(seconds, peak RSS in MB, stdout, stderr) of one child process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # wait4: this child's own peak RSS
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return seconds, usage.ru_maxrss // 1024, out.read(), err.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--rate", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="citewise-big-"))
    sources = work / "sources"
    sources.mkdir()
    big = sources / "big.txt"
    write_file(big, args.mb)
    print(f"{big}: {big.stat().st_size / 1e6:.1f} MB")
    env = {**os.environ, "CITEWISE_SOURCES_DIR": str(sources),
           "CITEWISE_INDEX_DIR": str(work / "index")}

    citewise = str(Path(sys.executable).parent / "citewise")
    seconds, rss, out, err = run_child([citewise, "ingest", "--json"], env)
    print(f"default settings (refused): {seconds:.1f} s, peak RSS {rss} MB: "
          f"{json.loads(out)['failed']}")

    if args.full:
        env["CITEWISE_MAX_DOC_MB"] = str(args.mb + 10)
        env["CITEWISE_INDEX_DIR"] = str(work / "index-full")
        seconds, rss, out, err = run_child(
            [sys.executable, "-m", "tests.child", "cli", "ingest", "--json"], env)
        summary = json.loads(out) if out.strip() else err[-2000:]
        print(f"ingested whole, fake embedder: {seconds:.0f} s, peak RSS {rss} MB: {summary}")

    if args.rate:
        sys.path.insert(0, str(ROOT))
        from app.config import Settings
        from app.service import default_embedder
        from ingest.chunking import chunk_document, chunk_sentences
        from ingest.clean import clean
        from ingest.loaders import load

        settings = Settings(_env_file=None)
        embedder = default_embedder(settings)
        head = work / "head.txt"
        head.write_text(big.read_text()[:2_000_000])
        doc = clean("head.txt", str(head), load(head))
        chunks = chunk_document(doc, embedder.count_tokens,
                                settings.chunker(embedder.max_tokens))[:2000]
        sentences = chunk_sentences(chunks)
        texts = [c.embed_text() for c in chunks] + sorted({s.embed_text for s in sentences})
        embedder.embed_documents(texts[:64])  # load the model first
        start = time.perf_counter()
        embedder.embed_documents(texts)
        rate = len(texts) / (time.perf_counter() - start)
        per_chunk = len(texts) / len(chunks)
        total_chunks = len(chunks) * big.stat().st_size / sum(len(c.text) for c in chunks)
        print(f"real model: {rate:.0f} texts/s; {per_chunk:.1f} texts per chunk (chunk + its "
              f"distinct sentences); ~{total_chunks:,.0f} chunks in the file -> "
              f"~{total_chunks * per_chunk / rate / 3600:.1f} h to embed it all")


if __name__ == "__main__":
    main()
