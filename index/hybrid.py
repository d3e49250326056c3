"""Hybrid retrieval: dense (Chroma) and lexical (BM25) rankings merged by reciprocal rank fusion.

RRF score of a chunk = sum over the rankings it appears in of 1 / (rrf_k + rank), rank
starting at 1 (Cormack et al. 2009; rrf_k = 60 is their constant). Fusion needs no score
calibration between the two retrievers, only their orders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from index.embedder import Embedder
from index.lexical import BM25Index
from index.vectors import VectorStore
from ingest.types import Chunk


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and where each retriever ranked it."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    dense_score: float | None = None
    lexical_rank: int | None = None


class ChunkLookup(Protocol):
    def get_chunks(self, ids: list[str]) -> dict[str, Chunk]: ...


class Retriever(Protocol):
    def search(self, query: str, k: int, doc_ids: list[str] | None = None) -> list[Hit]: ...


def rrf(rankings: Sequence[Sequence[str]], rrf_k: int = 60) -> dict[str, float]:
    """Reciprocal rank fusion of several rankings (ids best first)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (rrf_k + rank)
    return scores


class HybridRetriever:
    def __init__(self, embedder: Embedder, vectors: VectorStore, lexical: BM25Index,
                 chunks: ChunkLookup, depth: int = 30, rrf_k: int = 60):
        self.embedder = embedder
        self.vectors = vectors
        self.lexical = lexical
        self.chunks = chunks
        self.depth = depth
        self.rrf_k = rrf_k

    def search(self, query: str, k: int, doc_ids: list[str] | None = None) -> list[Hit]:
        depth = max(self.depth, k)
        dense = self.vectors.query(self.embedder.embed_query(query), depth, doc_ids)
        lexical = self.lexical.search(query, depth * 2 if doc_ids else depth)
        lookup = self.chunks.get_chunks([i for i, _ in dense] + [i for i, _ in lexical])
        if doc_ids:
            wanted = set(doc_ids)
            lexical = [(i, s) for i, s in lexical if i in lookup and lookup[i].doc_id in wanted]
        lexical = lexical[:depth]
        fused = rrf([[i for i, _ in dense], [i for i, _ in lexical]], self.rrf_k)
        dense_pos = {cid: (r, s) for r, (cid, s) in enumerate(dense, start=1)}
        lex_pos = {cid: r for r, (cid, _) in enumerate(lexical, start=1)}
        ranked = sorted(fused, key=lambda cid: (-fused[cid], cid))
        hits: list[Hit] = []
        for cid in ranked:
            chunk = lookup.get(cid)
            if chunk is None:  # in one index but not the manifest: skip, sync repairs it
                continue
            d = dense_pos.get(cid)
            hits.append(Hit(chunk, fused[cid], d[0] if d else None, d[1] if d else None,
                            lex_pos.get(cid)))
            if len(hits) == k:
                break
        return hits
