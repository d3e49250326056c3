"""The lexical index: BM25 (bm25s) over the same chunks, persisted beside Chroma.

Text is split into words by the one tokeniser of the code base (`ingest.text.search_words`:
normalised, stop words dropped, footnote digits removed, a light suffix stemmer). The heading
path is indexed with the chunk text, as it is for the embedder. The index is rebuilt from
the manifest after each ingest.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ingest.text import search_words

# numpy reads a saved array's header with `ast.literal_eval`. In CPython 3.11 the AST
# builder keeps its recursion depth per interpreter, not per thread: when a garbage
# collection inside one thread's parse lets another thread parse meanwhile, the first one
# fails with "SystemError: AST constructor recursion depth mismatch". Questions asked while
# the UI re-ingests did hit it. Loads therefore take turns.
_LOAD_LOCK = threading.Lock()

# The tokeniser is the one every room uses (`ingest.text.search_words`). A saved index
# records its version: an index saved with another one is rebuilt by the next sync.
TOKENIZER_VERSION = "search_words-2"  # 2: British spellings made American (`ingest.text.american`)


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
        corpus = [[shared.setdefault(w, w) for w in search_words(t)] or ["_empty_"] for t in texts]
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
        (tmp / "tokenizer.txt").write_text(TOKENIZER_VERSION)
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
        """The chunk ids of the saved index, without loading it; None if there is none, or
        it was made with another tokeniser (so that the next sync rebuilds it)."""
        ids_file = index_dir / cls.DIRNAME / "ids.json"
        try:
            version = (index_dir / cls.DIRNAME / "tokenizer.txt").read_text()
        except OSError:
            return None
        if version != TOKENIZER_VERSION:
            return None
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
        tokens = [t for t in search_words(query) if t in self._vocab]
        if not tokens:
            return []
        scores = np.asarray(self._retriever.get_scores(tokens))
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top])]
        return [(self.ids[i], float(scores[i])) for i in top if scores[i] > 0]
