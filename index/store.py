"""The index on disk: manifest (SQLite), vectors (Chroma) and BM25, opened together.

Layout of `index_dir`:
    manifest.sqlite   documents, chunks and the settings the index was built with
    chroma/           the Chroma collections (embedded PersistentClient); absent when
                      `chroma_url` points at a Chroma server, which then holds them
    bm25/             the bm25s index and the chunk ids it maps to
    ingest.lock       the writer lock and the pid of the ingest holding it (`index/lock.py`)

The manifest and BM25 always stay in `index_dir`, on the machine that ingests and queries.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from index.embedder import Embedder
from index.hybrid import HybridRetriever
from index.lexical import BM25Index
from index.vectors import ChromaVectors
from ingest.chunking import ChunkerSettings
from ingest.errors import IndexMissingError
from ingest.manifest import Manifest


class Index:
    def __init__(self, index_dir: Path, embedder: Embedder, chunker: ChunkerSettings,
                 chroma_url: str | None = None):
        self.dir = index_dir
        self.embedder = embedder
        self.chunker = chunker
        self.manifest = Manifest(index_dir)
        try:
            self.manifest.check_settings(embedder.name, chunker.fingerprint())
            self.vectors = ChromaVectors(index_dir / "chroma", embedder.name, embedder.dim,
                                         url=chroma_url)
        except BaseException:
            self.manifest.close()
            raise
        self._lexical: BM25Index | None = None

    @classmethod
    def open_existing(cls, index_dir: Path, embedder: Embedder, chunker: ChunkerSettings,
                      chroma_url: str | None = None) -> Index:
        """Open an index for querying; a missing or empty one is a clear error."""
        if not Manifest.exists(index_dir):
            raise IndexMissingError(
                f"No index at {index_dir}: run `citewise ingest` first.")
        index = cls(index_dir, embedder, chunker, chroma_url)
        if index.manifest.count_chunks() == 0:
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
        if self._lexical is None:
            self._lexical = BM25Index.load(self.dir)
        return self._lexical

    def reload_lexical(self) -> None:
        """Pick up the BM25 index an ingest saved since this one was loaded. A search
        already running keeps the object it started with."""
        self._lexical = BM25Index.load(self.dir)

    def rebuild_lexical(self) -> None:
        chunks = list(self.manifest.all_chunks())
        lexical = BM25Index.build([c.id for c in chunks], [c.embed_text() for c in chunks])
        lexical.save(self.dir)
        self._lexical = lexical

    def retriever(self) -> HybridRetriever:
        return HybridRetriever(self.embedder, self.vectors, self.lexical, self.manifest)

    def close(self) -> None:
        self.manifest.close()
