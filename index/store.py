"""The index on disk: manifest (SQLite), vectors (Chroma) and BM25, opened together.

Layout of `index_dir`:
    manifest.sqlite   documents, chunks and the settings the index was built with
    chroma/           the Chroma collections (embedded PersistentClient); absent when
                      `chroma_url` points at a Chroma server, which then holds them
    bm25/             the bm25s index and the chunk ids it maps to
    ingest.lock       the writer lock and the pid of the ingest holding it (`index/lock.py`)
    building.json     only while the first build (or a --rebuild) runs: how many of the
                      documents found are indexed so far, for questions asked meanwhile

The manifest and BM25 always stay in `index_dir`, on the machine that ingests and queries.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

from index.embedder import Embedder
from index.hybrid import HybridRetriever
from index.lexical import BM25Index
from index.manifest import Manifest
from index.vectors import ChromaVectors, read_chunk_ids
from ingest.chunking import ChunkerSettings
from ingest.errors import IndexMissingError

BUILDING = "building.json"


class Index:
    def __init__(self, index_dir: Path, embedder: Embedder, chunker: ChunkerSettings,
                 chroma_url: str | None = None, rechunk: bool = False):
        """`rechunk`: for an ingest, take up other chunker settings than the index's (the
        sync then re-chunks); a reader refuses them."""
        self.dir = index_dir
        self.embedder = embedder
        self.chunker = chunker
        self.chroma_url = chroma_url
        self.shared = bool(chroma_url)  # a Chroma server: every process sees every write
        self.manifest = Manifest(index_dir)
        try:
            self.manifest.check_settings(embedder.name, chunker.fingerprint(), rechunk)
        except BaseException:
            self.manifest.close()
            raise
        self._vectors: ChromaVectors | None = None
        self._vectors_lock = threading.Lock()
        if self.shared:  # a server is asked at once: one clear line if it is down
            try:
                self.vectors  # noqa: B018
            except BaseException:
                self.manifest.close()
                raise
        self._lexical: BM25Index | None = None
        self._lexical_stamp: tuple[int, int] | None = None
        self._lexical_lock = threading.Lock()  # one thread loads; the others wait for it

    @property
    def vectors(self) -> ChromaVectors:
        """The Chroma collections, opened on first use (a server's at once): a sync that
        finds nothing changed (`index.unchanged`) never imports chromadb."""
        with self._vectors_lock:
            if self._vectors is None:
                self._vectors = ChromaVectors(self.dir / "chroma", self.embedder.name,
                                              self.embedder.dim, url=self.chroma_url)
            return self._vectors

    def stored_chunk_ids(self) -> set[str]:
        """The chunk ids the vector store holds: read from the embedded store's SQLite file
        when it can be (no chromadb import), else through Chroma."""
        if not self.shared:
            ids = read_chunk_ids(self.dir / "chroma")
            if ids is not None:
                return ids
        return self.vectors.chunk_ids()

    @classmethod
    def open_existing(cls, index_dir: Path, embedder: Embedder, chunker: ChunkerSettings,
                      chroma_url: str | None = None) -> Index:
        """Open an index for querying; a missing or empty one is a clear error."""
        if not Manifest.exists(index_dir):
            raise IndexMissingError(
                f"No index at {index_dir}: run `citewise ingest` first.")
        index = cls(index_dir, embedder, chunker, chroma_url)
        if index.manifest.count_chunks() == 0:
            index.close()
            building = build_progress(index_dir)
            if building is not None:
                raise IndexMissingError(
                    f"The index is being built ({building[0]} of {building[1]} documents "
                    "so far, none ready yet): ask again in a moment.")
            raise IndexMissingError(
                f"The index at {index_dir} is empty: add documents to the sources folder "
                "and run `citewise ingest`.")
        return index

    @staticmethod
    def wipe(index_dir: Path, chroma_url: str | None = None) -> None:
        """Delete everything in the index (for `ingest --rebuild`), on the server too."""
        for name in (Manifest.FILENAME, Manifest.FILENAME + "-wal", Manifest.FILENAME + "-shm"):
            (index_dir / name).unlink(missing_ok=True)
        ChromaVectors.drop(index_dir / "chroma", chroma_url)
        shutil.rmtree(index_dir / BM25Index.DIRNAME, ignore_errors=True)

    @property
    def lexical(self) -> BM25Index:
        """The BM25 index. With a Chroma server it is loaded again whenever any process's
        ingest has saved a new one, since the server shows every process's vectors at once.
        The embedded store does not show another process's writes to this one (a Chroma
        limit), so there only an ingest of this process switches it (`reload_lexical`):
        BM25 and vectors always agree. A search keeps the index it started with; while a
        save swaps folders, the last one loaded goes on serving."""
        with self._lexical_lock:
            stamp = BM25Index.stamp(self.dir) if self.shared else self._lexical_stamp
            if self._lexical is None or (stamp is not None and stamp != self._lexical_stamp):
                self._load_lexical()
            assert self._lexical is not None
            return self._lexical

    def reload_lexical(self) -> None:
        """Load the BM25 index an ingest saved."""
        with self._lexical_lock:
            self._load_lexical()

    def _load_lexical(self) -> None:
        stamp = BM25Index.stamp(self.dir)
        try:
            self._lexical, self._lexical_stamp = BM25Index.load(self.dir), stamp
        except (OSError, ValueError):  # caught mid-swap: keep what we have
            if self._lexical is None:
                raise

    def rebuild_lexical(self) -> None:
        chunks = list(self.manifest.all_chunks())
        lexical = BM25Index.build([c.id for c in chunks], (c.embed_text() for c in chunks))
        try:
            lexical.save(self.dir)
        except BaseException:  # say, a full disk: give back the space of the half-written one
            shutil.rmtree(self.dir / (BM25Index.DIRNAME + ".tmp"), ignore_errors=True)
            raise
        with self._lexical_lock:
            self._lexical, self._lexical_stamp = lexical, BM25Index.stamp(self.dir)

    def retriever(self) -> HybridRetriever:
        return HybridRetriever(self.embedder, self.vectors, self.lexical, self.manifest)

    def close(self) -> None:
        self.manifest.close()


def write_build_progress(index_dir: Path, done: int, total: int) -> None:
    """Record that the index is being built: `done` of `total` documents indexed so far."""
    tmp = index_dir / (BUILDING + ".tmp")
    tmp.write_text(json.dumps({"pid": os.getpid(), "done": done, "total": total}))
    os.replace(tmp, index_dir / BUILDING)


def clear_build_progress(index_dir: Path) -> None:
    (index_dir / BUILDING).unlink(missing_ok=True)
    (index_dir / (BUILDING + ".tmp")).unlink(missing_ok=True)


def build_progress(index_dir: Path) -> tuple[int, int] | None:
    """(documents indexed so far, documents found) while an ingest builds the index; None
    when none does (a record left by a killed ingest, whose process is gone, counts not)."""
    try:
        state = json.loads((index_dir / BUILDING).read_text())
        pid, done, total = int(state["pid"]), int(state["done"]), int(state["total"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, another user's
        pass
    return done, total
