"""The lexical index: BM25 (bm25s) over the same chunks, persisted beside Chroma.

Text is lower-cased and split into word tokens; English stop words are dropped and a light
suffix stemmer folds plurals and -ing/-ed forms. The heading path is indexed with the chunk
text, as it is for the embedder. The index is rebuilt from the manifest after each ingest.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import numpy as np

STOP_WORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its
itself just me more most my myself no nor not of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself
yourselves also may might must shall whose within without upon via per
""".split())

# numpy reads a saved array's header with `ast.literal_eval`. In CPython 3.11 the AST
# builder keeps its recursion depth per interpreter, not per thread: when a garbage
# collection inside one thread's parse lets another thread parse meanwhile, the first one
# fails with "SystemError: AST constructor recursion depth mismatch". Questions asked while
# the UI re-ingests did hit it. Loads therefore take turns.
_LOAD_LOCK = threading.Lock()

_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")


def stem(word: str) -> str:
    """A deliberately light stemmer: plural and verb endings, then a final "e", so that
    cause / causes / caused and syndrome / syndromes meet."""
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("es", ""), ("s", ""), ("ing", ""),
                         ("ed", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            word = word[: len(word) - len(suffix)] + repl
            break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


# Words repeat (a corpus of millions of tokens has ~100k distinct words), so each is
# stemmed once: tokenizing a question's ~200 candidate sentences took a sixth of a search.
_stem = lru_cache(maxsize=1 << 18)(stem)


def tokenize(text: str) -> list[str]:
    return [_stem(t) for t in _TOKEN.findall(text.lower()) if t not in STOP_WORDS]


class BM25Index:
    """bm25s over chunk texts; `search` returns (chunk id, score) best first."""

    DIRNAME = "bm25"

    def __init__(self, ids: list[str], retriever):  # retriever: bm25s.BM25 | None
        self.ids = ids
        self._retriever = retriever
        self._vocab: dict[str, int] = retriever.vocab_dict if retriever is not None else {}

    @classmethod
    def build(cls, ids: list[str], texts: Iterable[str]) -> BM25Index:
        if not ids:
            return cls([], None)
        import bm25s

        # One string object per distinct token: a corpus has millions of tokens but few
        # distinct ones (a 50 MB document: 0.4 GB less at the peak of an ingest).
        shared: dict[str, str] = {}
        corpus = [[shared.setdefault(w, w) for w in tokenize(t)] or ["_empty_"] for t in texts]
        retriever = bm25s.BM25()
        retriever.index(corpus, show_progress=False)
        return cls(list(ids), retriever)

    def save(self, index_dir: Path) -> None:
        import shutil

        folder = index_dir / self.DIRNAME
        tmp = index_dir / (self.DIRNAME + ".tmp")
        old = index_dir / (self.DIRNAME + ".old")
        for leftover in (tmp, old):  # from a run killed in the middle of a save
            shutil.rmtree(leftover, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._retriever is not None:
            self._retriever.save(str(tmp), show_progress=False)
        (tmp / "ids.json").write_text(json.dumps(self.ids))
        # Swap in the new folder as a whole so a reader never sees half an index. A crash
        # between the two renames leaves no `bm25/`: the next sync finds its ids missing
        # and rebuilds it from the manifest.
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def stamp(cls, index_dir: Path) -> tuple[int, int] | None:
        """Which save is on disk (each writes a new file), or None if none is right now."""
        try:
            st = (index_dir / cls.DIRNAME / "ids.json").stat()
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns

    @classmethod
    def stored_ids(cls, index_dir: Path) -> list[str] | None:
        """The chunk ids of the saved index (None if there is none), without loading it."""
        ids_file = index_dir / cls.DIRNAME / "ids.json"
        try:
            return list(json.loads(ids_file.read_text()))
        except (OSError, ValueError):
            return None

    @classmethod
    def load(cls, index_dir: Path) -> BM25Index:
        folder = index_dir / cls.DIRNAME
        ids_file = folder / "ids.json"
        if not ids_file.exists():
            return cls([], None)
        ids = json.loads(ids_file.read_text())
        if not ids:
            return cls([], None)
        import bm25s

        with _LOAD_LOCK:
            return cls(ids, bm25s.BM25.load(str(folder)))

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        if self._retriever is None:
            return []
        tokens = [t for t in tokenize(query) if t in self._vocab]
        if not tokens:
            return []
        scores = np.asarray(self._retriever.get_scores(tokens))
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]
