"""All the benchmarks, quick (`make bench`, a few minutes) or full (`--full`).

    .venv/bin/python -m bench.run [--full] [--only ingest query reingest startup int8]

quick: ingest throughput on 50 abstracts; query latency at ~1k chunks (index built with
       the fake embedder, questions by the real model); re-ingest of 100 abstracts;
       start-up (1 run per model); int8 check on 20 abstracts plus the gold set.
full:  ingest on 1k abstracts (`--ingest-docs` for 10k / all); query latency at 1k, 10k
       and 100k chunks (100k built with a fake embedder, questions by the real model);
       re-ingest of 1,000 abstracts; start-up (3 runs per model); int8 check on 300
       abstracts plus the gold set.

Each benchmark prints its table and writes bench/out/<name>.json; the latency plot goes to
bench/out/latency.png (docs/benchmarks-latency.png is the one committed, from a full run).
The machine's load average is recorded with every figure: on a shared machine, read the
figures with it.
"""

from __future__ import annotations

import argparse

from bench import ingest, int8, plot, query, reingest, startup
from bench.common import OUT, machine

STEPS = ["ingest", "query", "reingest", "startup", "int8"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--only", nargs="+", choices=STEPS, default=STEPS)
    parser.add_argument("--ingest-docs", type=int, nargs="+", default=None)
    args = parser.parse_args(argv)
    full = args.full
    print(f"machine: {machine()}")
    if "ingest" in args.only:
        docs = args.ingest_docs or ([1000] if full else [50])
        ingest.main(["--docs", *map(str, docs), *(["--matched"] if full else [])])
    if "query" in args.only:
        sizes = ["1000", "10000", "100000"] if full else ["1000"]
        query.main(["--sizes", *sizes, "--queries", "100" if full else "50",
                    "--fake-from", "100000" if full else "1000"])
        plot.main(["--json", str(OUT / "query.json"), "--out", str(OUT / "latency.png")])
    if "reingest" in args.only:
        reingest.main(["--docs", "1000" if full else "100"])
    if "startup" in args.only:
        startup.main(["--runs", "3" if full else "1", "--model", "all-MiniLM-L6-v2",
                      "all-MiniLM-L6-v2-int8"])
    if "int8" in args.only:
        int8.main(["--docs", "300" if full else "20"])


if __name__ == "__main__":
    main()
