"""The vector store: two Chroma collections, chunks and their sentences.

Chunk vectors find passages; sentence vectors score each sentence of a passage against the
question, which both sharpens retrieval (a passage is as relevant as its best sentence) and
lets an answer pick exact sentences without embedding anything at question time.

Chroma's default embedding function downloads a model and fails offline, so every add and
query passes vectors. The collections record the embedding model and dimension; opening them
with another model raises `IndexMismatchError`. Telemetry is off.

Every vector carries `hash`, a digest of the exact text that was embedded, so a sync can
copy a vector it already has (a renamed file, a duplicate, a passage that only moved)
instead of embedding the text again (`find_chunks`, `find_sentences`).

The store is the embedded `PersistentClient` in the index folder, or a Chroma server
(`chromadb.HttpClient`) when a URL is given; both hold the same two collections.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import numpy as np

from ingest.errors import IndexMismatchError, StoreUnavailableError
from ingest.sentences import split_sentences
from ingest.types import Chunk, Sentence

CHUNKS = "citewise_chunks"
SENTENCES = "citewise_sentences"
_LOOKUP_BATCH = 500  # ids or hashes per `get`: keeps each filter small
_SCAN_PAGE = 5000  # items per `get` when reading a whole collection
_ID_BATCH = 2000  # ids per `get` by id (a primary-key lookup: one call for a question's)
# Candidates the HNSW graph explores per query. At Chroma's default of 100, two builds of
# the same distractor index (3,000 abstracts: 8,130 chunks, 28,895 sentences) returned
# different top-20 sentences for 9 and top-40 chunks for 10 of the 78 gold questions, and the
# eval's recall@5 was 0.820 on one build and 0.836 on the other. At 300 both builds scored
# the same, and a query took 0.9-1.3 ms instead of 0.6 ms (averaged over the 78 questions
# sent in one call). Set on each collection as it is opened, so an index made before this
# setting gets it on its first open.
EF_SEARCH = 300


def text_hash(text: str) -> str:
    """Digest of the exact text an embedder saw: equal texts have equal vectors."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class SentenceVector:
    chunk_id: str
    start: int
    end: int
    vector: np.ndarray


@dataclass(frozen=True)
class StoredChunk:
    """A chunk vector already stored, found by the hash of its text: the ids holding it."""

    ids: frozenset[str]
    vector: np.ndarray


class VectorStore(Protocol):
    def add(self, chunks: list[Chunk], chunk_vectors: np.ndarray,
            sentences: list[Sentence], sentence_vectors: np.ndarray) -> None: ...

    def find_chunks(self, hashes: list[str]) -> dict[str, StoredChunk]: ...

    def find_sentences(self, hashes: list[str]) -> dict[str, np.ndarray]: ...

    def delete(self, chunk_ids: list[str]) -> None: ...

    def query_chunks(self, vector: np.ndarray, k: int,
                     doc_ids: list[str] | None = None) -> list[str]: ...

    def query_sentences(self, vector: np.ndarray, k: int,
                        doc_ids: list[str] | None = None) -> list[str]: ...

    def chunk_vectors(self, chunk_ids: list[str]) -> dict[str, np.ndarray]: ...

    def sentence_vectors(self, chunk_ids: list[str],
                         sentence_ids: list[str] | None = None) -> list[SentenceVector]: ...

    def chunk_ids(self) -> set[str]: ...

    def sentence_chunk_ids(self) -> set[str]: ...

    def count(self) -> int: ...


def _search_wide(collection) -> None:
    """Set `EF_SEARCH` on a collection unless it has it. Only through `modify`: passing a
    configuration to `get_or_create_collection` would drop the cosine space (Chroma then
    ignores the "hnsw:space" metadata and uses l2)."""
    hnsw = (collection.configuration_json or {}).get("hnsw") or {}
    if hnsw.get("ef_search") != EF_SEARCH:
        collection.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})


def _client(path: Path, url: str | None = None):  # -> chromadb.ClientAPI
    """The Chroma server at `url` if one is given, else the embedded store in `path`."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if url:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        ssl = parts.scheme == "https"
        try:
            return chromadb.HttpClient(host=parts.hostname or "localhost",
                                       port=parts.port or (443 if ssl else 8000), ssl=ssl,
                                       settings=settings)
        except Exception as exc:  # noqa: BLE001  chromadb raises ValueError, httpx errors...
            raise StoreUnavailableError(
                f"Cannot reach the Chroma server at {url} ({exc}): start it (`chroma run "
                "--path DIR --port N`), or unset CITEWISE_CHROMA_URL to use the embedded "
                "store.") from None
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


def read_chunk_ids(path: Path) -> set[str] | None:
    """The chunk ids in the embedded store at `path`, read from Chroma's own SQLite file
    (read-only, without importing chromadb: a sync that finds nothing changed uses it, see
    `index.unchanged`). None when it cannot be read so (no store, or another layout of
    Chroma's tables): then ask `ChromaVectors.chunk_ids`."""
    import sqlite3

    file = path / "chroma.sqlite3"
    if not file.is_file():
        return None
    try:
        db = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
        try:
            rows = db.execute(
                "SELECT e.embedding_id FROM embeddings e JOIN segments s ON e.segment_id = "
                "s.id JOIN collections c ON s.collection = c.id WHERE c.name = ? AND "
                "s.scope = 'METADATA'", (CHUNKS,)).fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return {r[0] for r in rows}


def _batches(items: list[str], size: int = _LOOKUP_BATCH) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _pages(collection, include: list[str]) -> Iterator[dict]:
    """A whole collection, `_SCAN_PAGE` items per `get`: one `get` of everything fails on a
    large collection ("too many SQL variables") and holds it all in memory at once."""
    offset = 0
    while True:
        res = collection.get(include=include, limit=_SCAN_PAGE, offset=offset)
        if not res["ids"]:
            return
        yield res
        offset += len(res["ids"])


def sentence_ids_of(chunk: Chunk, spare: int = 2) -> list[str]:
    """Every id a sentence of `chunk` may have: `<chunk id>:<n>` for the n-th sentence of
    its text (`ingest.chunking.chunk_sentences` names them so and skips list lead-ins, so
    some of these ids do not exist), plus `spare` more."""
    n = len(split_sentences(chunk.text))
    return [f"{chunk.id}:{i}" for i in range(n + spare)]


def _sentence_rows(res: dict) -> list[SentenceVector]:
    return [SentenceVector(str(m["chunk_id"]), int(m["start"]), int(m["end"]),
                           np.asarray(v, dtype=np.float32))
            for m, v in zip(res["metadatas"], res["embeddings"], strict=True)]


class ChromaVectors:
    """Two Chroma collections in cosine space: embedded (`PersistentClient` in `path`) or,
    with `url`, on a Chroma server (`HttpClient`)."""

    @staticmethod
    def drop(path: Path, url: str | None = None) -> None:
        """Delete both collections. (Removing the folder instead would break any client
        this process still holds: Chroma caches one per path.)"""
        if not url and not path.exists():
            return
        client = _client(path, url)
        for name in (CHUNKS, SENTENCES):
            if name in {c.name for c in client.list_collections()}:
                client.delete_collection(name)

    def __init__(self, path: Path, model_name: str, dim: int, url: str | None = None):
        self._client = _client(path, url)
        self.shared = bool(url)  # a server: every process sees every write at once
        where = url or path
        meta = {"hnsw:space": "cosine", "embedding_model": model_name, "dim": dim}
        self._chunks = self._client.get_or_create_collection(
            CHUNKS, embedding_function=None, metadata=meta)
        self._sentences = self._client.get_or_create_collection(
            SENTENCES, embedding_function=None, metadata=meta)
        for collection in (self._chunks, self._sentences):
            _search_wide(collection)
        have = self._chunks.metadata or {}
        if have.get("embedding_model") != model_name or have.get("dim") != dim:
            raise IndexMismatchError(
                f"The vector index in {where} holds {have.get('dim')}-d vectors of "
                f"{have.get('embedding_model')!r}, not {dim}-d vectors of {model_name!r}: run "
                "`citewise ingest --rebuild`, or point CITEWISE_INDEX_DIR at another folder.")
        self._max_batch = self._client.get_max_batch_size()

    # -- writes ------------------------------------------------------------------------------
    def add(self, chunks: list[Chunk], chunk_vectors: np.ndarray,
            sentences: list[Sentence], sentence_vectors: np.ndarray) -> None:
        """Sentences first: a chunk is only found once all its sentences are stored.
        More items than Chroma takes in one call go in several calls."""
        for i in range(0, len(sentences), self._max_batch):
            batch = sentences[i:i + self._max_batch]
            self._sentences.upsert(
                ids=[s.id for s in batch], embeddings=sentence_vectors[i:i + len(batch)],
                metadatas=[{"chunk_id": s.chunk_id, "doc_id": s.doc_id, "start": s.start,
                            "end": s.end, "hash": text_hash(s.embed_text)} for s in batch])
        for i in range(0, len(chunks), self._max_batch):
            part = chunks[i:i + self._max_batch]
            self._chunks.upsert(
                ids=[c.id for c in part], embeddings=chunk_vectors[i:i + len(part)],
                metadatas=[{"doc_id": c.doc_id, "hash": text_hash(c.embed_text())}
                           for c in part])

    def delete(self, chunk_ids: list[str]) -> None:
        """Chunks first, then their sentences (the reverse of `add`)."""
        step = min(self._max_batch, 500)
        for i in range(0, len(chunk_ids), step):
            batch = chunk_ids[i:i + step]
            self._chunks.delete(ids=batch)
            self._sentences.delete(where={"chunk_id": {"$in": batch}})

    # -- vectors already stored, by the hash of their text --------------------------------------
    def find_chunks(self, hashes: list[str]) -> dict[str, StoredChunk]:
        """Stored chunk vectors whose text hash is in `hashes`, with the ids holding them."""
        found: dict[str, StoredChunk] = {}
        if not hashes or self._chunks.count() == 0:
            return found
        for batch in _batches(sorted(set(hashes))):
            res = self._chunks.get(where={"hash": {"$in": batch}},
                                   include=["embeddings", "metadatas"])
            for cid, meta, vec in zip(res["ids"], res["metadatas"], res["embeddings"],
                                      strict=True):
                key = str(meta["hash"])
                ids = found[key].ids if key in found else frozenset()
                found[key] = StoredChunk(ids | {cid}, np.asarray(vec, dtype=np.float32))
        return found

    def find_sentences(self, hashes: list[str]) -> dict[str, np.ndarray]:
        """One stored sentence vector for each hash in `hashes` that has one."""
        found: dict[str, np.ndarray] = {}
        if not hashes or self._sentences.count() == 0:
            return found
        for batch in _batches(sorted(set(hashes))):
            res = self._sentences.get(where={"hash": {"$in": batch}},
                                      include=["embeddings", "metadatas"])
            for meta, vec in zip(res["metadatas"], res["embeddings"], strict=True):
                found.setdefault(str(meta["hash"]), np.asarray(vec, dtype=np.float32))
        return found

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
        # No `count()` first: Chroma answers an empty collection or k > count with what it
        # has, and counting 400k sentences took 55 ms, a fifth of a search at 100k chunks.
        where = {"doc_id": {"$in": list(doc_ids)}} if doc_ids else None
        res = collection.query(query_embeddings=[vector], n_results=k, where=where,
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

    def sentence_vectors(self, chunk_ids: list[str],
                         sentence_ids: list[str] | None = None) -> list[SentenceVector]:
        """The sentence vectors of `chunk_ids`. With `sentence_ids` (every id their sentences
        may have, `sentence_ids_of`), they are looked up by id: at 400k sentences that took
        a tenth of the time of filtering on `chunk_id` (250 ms). A chunk none of whose
        sentences is found that way is looked up by the filter after all."""
        if not chunk_ids:
            return []
        out: list[SentenceVector] = []
        missing = list(chunk_ids)
        if sentence_ids:
            wanted = set(chunk_ids)
            for batch in _batches(sentence_ids, _ID_BATCH):
                res = self._sentences.get(ids=batch, include=["embeddings", "metadatas"])
                out += [sv for sv in _sentence_rows(res) if sv.chunk_id in wanted]
            found = {sv.chunk_id for sv in out}
            missing = [cid for cid in chunk_ids if cid not in found]
        if missing:
            res = self._sentences.get(where={"chunk_id": {"$in": missing}},
                                      include=["embeddings", "metadatas"])
            out += _sentence_rows(res)
        return out

    def chunk_ids(self) -> set[str]:
        """Ids of the chunks stored whole (their vector is written after their sentences)."""
        return {cid for res in _pages(self._chunks, []) for cid in res["ids"]}

    def sentence_chunk_ids(self) -> set[str]:
        """Chunk ids that have sentence vectors, including any left by an interrupted run."""
        return {str(m["chunk_id"]) for res in _pages(self._sentences, ["metadatas"])
                for m in res["metadatas"]}

    def count(self) -> int:
        return int(self._chunks.count())
