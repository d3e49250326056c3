"""Crash safety: an ingest SIGKILLed at many points, each followed by a normal ingest, always
ends in a healthy index.

Each round changes the corpus (add, edit, delete, rename, copy documents), runs `citewise
ingest` in a subprocess that kills itself (SIGKILL, no clean-up of any kind) at the Nth call
of a step picked by the seeded RNG (an embedding call, a Chroma upsert or delete, a manifest
write or the middle of its transaction, the BM25 save or the middle of its folder swap,
just after taking the writer lock), then runs ingest again and checks: every file is in the
manifest, Chroma holds exactly the manifest's chunks and their sentences (no orphans, no
duplicates), BM25 holds the same ids once each, and every document answers a question
with a citation of itself. The corpus changes carry over from round to round, so later
rounds start from the state earlier ones repaired.

`KILL_TEST_SEED=N` runs another sequence of kill points.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

from tests.child import STEPS
from tests.conftest import ROOT

SEED = int(os.environ.get("KILL_TEST_SEED", "20261122"))
KILLS_WANTED = 12
MAX_ROUNDS = 30

# No quantity words ("dose", "rate"): a quantity question needs a number in its answer.
WORDS = ("muscle weakness antibody calcium channel tumour thymoma lung nerve junction therapy "
         "fatigue reflex biopsy serum marker onset plasma exchange steroid remission "
         "tremor ataxia neuropathy carcinoma autoimmunity receptor potassium electrode "
         "fibre signal recovery cohort incidence screening imaging").split()


class Corpus:
    """Synthetic documents, each with a question that only its own sentences answer."""

    def __init__(self, folder: Path, rng: random.Random):
        self.folder = folder
        self.rng = rng
        self.questions: dict[str, str] = {}  # doc id (relative path) -> question
        self.serial = 0

    def sentence(self, marker: str) -> str:
        words = [self.rng.choice(WORDS) for _ in range(self.rng.randint(7, 14))]
        words.insert(self.rng.randrange(len(words)), marker)
        return " ".join(words).capitalize() + "."

    def paragraph(self, marker: str) -> str:
        return " ".join(self.sentence(marker) for _ in range(self.rng.randint(3, 6)))

    def add(self) -> None:
        self.serial += 1
        marker = f"zx{self.serial}q"
        paragraphs = [self.paragraph(marker) for _ in range(self.rng.randint(2, 5))]
        name = f"doc{self.serial:03d}.txt"
        (self.folder / name).write_text(f"Report {self.serial} on {marker}\n\n"
                                        + "\n\n".join(paragraphs) + "\n")
        self.questions[name] = paragraphs[0].split(". ")[0].rstrip(".") + "."

    def edit(self) -> None:
        name = self.rng.choice(sorted(self.questions))
        path = self.folder / name
        title, rest = path.read_text().split("\n\n", 1)
        new = self.paragraph(f"ed{self.serial}x")
        self.serial += 1
        # A new paragraph first: every later passage moves (new chunk ids, same text).
        path.write_text(f"{title}\n\n{new}\n\n{rest}")

    def delete(self) -> None:
        if len(self.questions) > 3:
            name = self.rng.choice(sorted(self.questions))
            (self.folder / name).unlink()
            del self.questions[name]

    def rename(self) -> None:
        name = self.rng.choice(sorted(self.questions))
        self.serial += 1
        new = f"moved{self.serial % 3}/{Path(name).name}"
        if new in self.questions:
            return
        (self.folder / new).parent.mkdir(exist_ok=True)
        (self.folder / name).rename(self.folder / new)
        self.questions[new] = self.questions.pop(name)

    def copy(self) -> None:
        name = self.rng.choice(sorted(self.questions))
        self.serial += 1
        new = f"copy{self.serial}.txt"
        (self.folder / new).write_bytes((self.folder / name).read_bytes())
        self.questions[new] = self.questions[name]

    def change(self) -> list[str]:
        ops = self.rng.sample(["add", "edit", "delete", "rename", "copy"],
                              self.rng.randint(1, 3))
        for op in ops:
            getattr(self, op)()
        return ops


def run(env: dict[str, str], *args: str, kill_at: str | None = None):
    env = {**env, "KILL_AT": kill_at} if kill_at else env
    return subprocess.run([sys.executable, "-m", "tests.child", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def kill_point(rng: random.Random) -> str:
    step = rng.choice(STEPS)
    nth = 1 if step in {"lock", "bm25_save"} else rng.choice([1, 1, 1, 2])
    return f"{step}:{nth}:{rng.choice(['before', 'after'])}"


def test_ingest_survives_sigkill_at_many_points(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    sources = tmp_path / "sources"
    sources.mkdir()
    corpus = Corpus(sources, rng)
    for _ in range(5):
        corpus.add()
    env = {**os.environ, "CITEWISE_SOURCES_DIR": str(sources),
           "CITEWISE_INDEX_DIR": str(tmp_path / "index")}
    questions = tmp_path / "questions.json"
    first = run(env, "cli", "ingest", "--json")
    assert first.returncode == 0, first.stderr

    kills: list[str] = []
    rounds = 0
    while len(kills) < KILLS_WANTED and rounds < MAX_ROUNDS:
        rounds += 1
        ops = corpus.change()
        point = kill_point(rng)
        killed = run(env, "cli", "ingest", "--json", kill_at=point)
        assert killed.returncode in (0, -9), killed.stderr
        if killed.returncode == -9:
            kills.append(point)

        questions.write_text(json.dumps(corpus.questions))
        check = run(env, "check", str(questions))
        where = f"round {rounds} (seed {SEED}, changes {ops}, killed at {point})"
        assert check.returncode == 0, f"{where}: {check.stderr}"
        health = json.loads(check.stdout)
        assert health["summary"]["failed"] == [], where
        assert health["docs"] == sorted(corpus.questions), where
        assert health["chroma_equals_manifest"] and health["sentences_equal_manifest"], where
        assert health["lexical_equals_manifest"], where
        assert (health["chroma_chunks"] == health["manifest_chunks"]
                == health["manifest_unique"] == health["lexical_chunks"]), where
        unanswered = [doc for doc, ok in health["answered"].items() if not ok]
        assert unanswered == [], where

    print(f"\nkill test (seed {SEED}): {rounds} rounds, {len(kills)} killed and recovered: "
          + ", ".join(kills))
    assert len(kills) >= 10, f"only {len(kills)} of {rounds} rounds were killed (seed {SEED})"
    assert len({k.split(":")[0] for k in kills}) >= 5  # at many different steps
