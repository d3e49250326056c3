"""The vector store: a Chroma collection, always given our own embeddings.

Chroma's default embedding function downloads a model and fails offline, so every add and
query passes vectors. The collection's metadata records the embedding model and dimension;
opening it with another model raises `IndexMismatchError`. Telemetry is off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from ingest.errors import IndexMismatchError

COLLECTION = "citewise_chunks"


class VectorStore(Protocol):
    def add(self, ids: list[str], vectors: np.ndarray, doc_ids: list[str]) -> None: ...

    def delete(self, ids: list[str]) -> None: ...

    def query(self, vector: np.ndarray, k: int,
              doc_ids: list[str] | None = None) -> list[tuple[str, float]]: ...

    def count(self) -> int: ...


class ChromaVectors:
    """Embedded Chroma (`PersistentClient`) in `path`, cosine space."""

    def __init__(self, path: Path, model_name: str, dim: int):
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        path.mkdir(parents=True, exist_ok=True)
        self._client = chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
        self._collection = self._client.get_or_create_collection(
            COLLECTION, embedding_function=None,
            metadata={"hnsw:space": "cosine", "embedding_model": model_name, "dim": dim},
        )
        meta = self._collection.metadata or {}
        if meta.get("embedding_model") != model_name or meta.get("dim") != dim:
            raise IndexMismatchError(
                f"The vector index in {path} holds {meta.get('dim')}-d vectors of "
                f"{meta.get('embedding_model')!r}, not {dim}-d vectors of {model_name!r}: run "
                "`citewise ingest --rebuild`, or point CITEWISE_INDEX_DIR at another folder."
            )
        self._max_batch = self._client.get_max_batch_size()

    def add(self, ids: list[str], vectors: np.ndarray, doc_ids: list[str]) -> None:
        for i in range(0, len(ids), self._max_batch):
            j = i + self._max_batch
            self._collection.upsert(ids=ids[i:j], embeddings=vectors[i:j],
                                    metadatas=[{"doc_id": d} for d in doc_ids[i:j]])

    def delete(self, ids: list[str]) -> None:
        for i in range(0, len(ids), self._max_batch):
            self._collection.delete(ids=ids[i:i + self._max_batch])

    def query(self, vector: np.ndarray, k: int,
              doc_ids: list[str] | None = None) -> list[tuple[str, float]]:
        n = self.count()
        if n == 0:
            return []
        where = None
        if doc_ids:
            where = {"doc_id": {"$in": list(doc_ids)}}
        res = self._collection.query(query_embeddings=[vector], n_results=min(k, n),
                                     where=where, include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0],
                                                    strict=True)]

    def count(self) -> int:
        return int(self._collection.count())

    def ids(self) -> set[str]:
        return set(self._collection.get(include=[])["ids"])
