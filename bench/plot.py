"""Plot query latency against corpus size from bench/out/query.json (or several files of
rows from separate runs, merged).

    .venv/bin/python -m bench.plot [--json FILE ...] [--out docs/benchmarks-latency.png]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.common import OUT, ROOT


def plot(data: dict, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(data["rows"], key=lambda r: r["chunks"])
    x = [r["chunks"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for key, label, style in (("retrieve_p50_ms", "retrieval p50", "o-"),
                              ("retrieve_p95_ms", "retrieval p95", "o--"),
                              ("answer_p50_ms", "extractive answer p50", "s-"),
                              ("answer_p95_ms", "extractive answer p95", "s--"),
                              ("bm25_p50_ms", "BM25 search alone p50", "^:")):
        ax.plot(x, [r[key] for r in rows], style, label=label)
    for target, label in ((100, "retrieval p95 target"), (300, "answer p95 target")):
        ax.axhline(target, color="grey", linewidth=0.8, linestyle=":")
        ax.text(x[0], target * 1.04, label, fontsize=7, color="grey")
    fake = [r["chunks"] for r in rows if r.get("fake")]
    if fake:
        ax.axvspan(min(fake) * 0.8, max(fake) * 1.2, color="0.93")
        ax.text(min(fake) * 0.82, ax.get_ylim()[1] * 0.5, "index built with\na fake embedder;\n"
                "questions: real model", fontsize=7)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("chunks in the index")
    ax.set_ylabel("latency per question (ms)")
    ax.set_title(f"citewise query latency, {data['machine']['cpus']}-core CPU (shared)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="center left")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, nargs="+", default=[OUT / "query.json"])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks-latency.png")
    args = parser.parse_args(argv)
    runs = [json.loads(path.read_text()) for path in args.json]
    data = {"machine": runs[0]["machine"], "rows": [r for run in runs for r in run["rows"]]}
    print(f"wrote {plot(data, args.out)}")


if __name__ == "__main__":
    main()
