"""The vector store: two Chroma collections, chunks and their sentences.

Chunk vectors find passages; sentence vectors score each sentence of a passage against the
question, which both sharpens retrieval (a passage is as relevant as its best sentence) and
lets an answer pick exact sentences without embedding anything at question time.

Chroma's default embedding function downloads a model and fails offline, so every add and
query passes vectors. The collections record the embedding model and dimension; opening them
with another model raises `IndexMismatchError`. Telemetry is off.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ingest.errors import IndexMismatchError
from ingest.types import Sentence

CHUNKS = "citewise_chunks"
SENTENCES = "citewise_sentences"


@dataclass(frozen=True)
class SentenceVector:
    chunk_id: str
    start: int
    end: int
    vector: np.ndarray


class VectorStore(Protocol):
    def add(self, chunk_ids: list[str], chunk_vectors: np.ndarray, doc_ids: list[str],
            sentences: list[Sentence], sentence_vectors: np.ndarray) -> None: ...

    def delete(self, chunk_ids: list[str]) -> None: ...

    def query_chunks(self, vector: np.ndarray, k: int,
                     doc_ids: list[str] | None = None) -> list[str]: ...

    def query_sentences(self, vector: np.ndarray, k: int,
                        doc_ids: list[str] | None = None) -> list[str]: ...

    def chunk_vectors(self, chunk_ids: list[str]) -> dict[str, np.ndarray]: ...

    def sentence_vectors(self, chunk_ids: list[str]) -> list[SentenceVector]: ...

    def chunk_ids(self) -> set[str]: ...

    def sentence_chunk_ids(self) -> set[str]: ...

    def count(self) -> int: ...


def _client(path: Path):  # -> chromadb.ClientAPI
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path),
                                     settings=ChromaSettings(anonymized_telemetry=False))


class ChromaVectors:
    """Embedded Chroma (`PersistentClient`) in `path`, cosine space."""

    @staticmethod
    def drop(path: Path) -> None:
        """Delete both collections. (Removing the folder instead would break any client
        this process still holds: Chroma caches one per path.)"""
        if not path.exists():
            return
        client = _client(path)
        for name in (CHUNKS, SENTENCES):
            if name in {c.name for c in client.list_collections()}:
                client.delete_collection(name)

    def __init__(self, path: Path, model_name: str, dim: int):
        self._client = _client(path)
        meta = {"hnsw:space": "cosine", "embedding_model": model_name, "dim": dim}
        self._chunks = self._client.get_or_create_collection(
            CHUNKS, embedding_function=None, metadata=meta)
        self._sentences = self._client.get_or_create_collection(
            SENTENCES, embedding_function=None, metadata=meta)
        have = self._chunks.metadata or {}
        if have.get("embedding_model") != model_name or have.get("dim") != dim:
            raise IndexMismatchError(
                f"The vector index in {path} holds {have.get('dim')}-d vectors of "
                f"{have.get('embedding_model')!r}, not {dim}-d vectors of {model_name!r}: run "
                "`citewise ingest --rebuild`, or point CITEWISE_INDEX_DIR at another folder.")
        self._max_batch = self._client.get_max_batch_size()

    # -- writes ------------------------------------------------------------------------------
    def add(self, chunk_ids: list[str], chunk_vectors: np.ndarray, doc_ids: list[str],
            sentences: list[Sentence], sentence_vectors: np.ndarray) -> None:
        """Sentences first: a chunk is only found once all its sentences are stored."""
        for i in range(0, len(sentences), self._max_batch):
            batch = sentences[i:i + self._max_batch]
            self._sentences.upsert(
                ids=[s.id for s in batch], embeddings=sentence_vectors[i:i + len(batch)],
                metadatas=[{"chunk_id": s.chunk_id, "doc_id": s.doc_id, "start": s.start,
                            "end": s.end} for s in batch])
        for i in range(0, len(chunk_ids), self._max_batch):
            j = i + self._max_batch
            self._chunks.upsert(ids=chunk_ids[i:j], embeddings=chunk_vectors[i:j],
                                metadatas=[{"doc_id": d} for d in doc_ids[i:j]])

    def delete(self, chunk_ids: list[str]) -> None:
        """Chunks first, then their sentences (the reverse of `add`)."""
        step = min(self._max_batch, 500)
        for i in range(0, len(chunk_ids), step):
            batch = chunk_ids[i:i + step]
            self._chunks.delete(ids=batch)
            self._sentences.delete(where={"chunk_id": {"$in": batch}})

    # -- reads -------------------------------------------------------------------------------
    def query_chunks(self, vector: np.ndarray, k: int,
                     doc_ids: list[str] | None = None) -> list[str]:
        return self._query(self._chunks, vector, k, doc_ids, key=None)

    def query_sentences(self, vector: np.ndarray, k: int,
                        doc_ids: list[str] | None = None) -> list[str]:
        """Chunk ids of the best-matching sentences, best first (a chunk may repeat)."""
        return self._query(self._sentences, vector, k, doc_ids, key="chunk_id")

    def _query(self, collection, vector: np.ndarray, k: int, doc_ids: list[str] | None,
               key: str | None) -> list[str]:
        n = collection.count()
        if n == 0:
            return []
        where = {"doc_id": {"$in": list(doc_ids)}} if doc_ids else None
        res = collection.query(query_embeddings=[vector], n_results=min(k, n), where=where,
                               include=["metadatas"] if key else [])
        if key is None:
            return list(res["ids"][0])
        return [str(m[key]) for m in res["metadatas"][0]]

    def chunk_vectors(self, chunk_ids: list[str]) -> dict[str, np.ndarray]:
        if not chunk_ids:
            return {}
        res = self._chunks.get(ids=list(chunk_ids), include=["embeddings"])
        return {i: np.asarray(v, dtype=np.float32)
                for i, v in zip(res["ids"], res["embeddings"], strict=True)}

    def sentence_vectors(self, chunk_ids: list[str]) -> list[SentenceVector]:
        if not chunk_ids:
            return []
        res = self._sentences.get(where={"chunk_id": {"$in": list(chunk_ids)}},
                                  include=["embeddings", "metadatas"])
        return [SentenceVector(str(m["chunk_id"]), int(m["start"]), int(m["end"]),
                               np.asarray(v, dtype=np.float32))
                for m, v in zip(res["metadatas"], res["embeddings"], strict=True)]

    def chunk_ids(self) -> set[str]:
        """Ids of the chunks stored whole (their vector is written after their sentences)."""
        return set(self._chunks.get(include=[])["ids"])

    def sentence_chunk_ids(self) -> set[str]:
        """Chunk ids that have sentence vectors, including any left by an interrupted run."""
        metas = self._sentences.get(include=["metadatas"])["metadatas"]
        return {str(m["chunk_id"]) for m in metas}

    def count(self) -> int:
        return int(self._chunks.count())
