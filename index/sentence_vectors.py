"""The vectors of new chunks and sentences, made in one of two ways (`SentenceVectors`):

- `pooled` (default): one encoder pass per chunk. Each sentence's vector is the mean of
  the chunk pass's token states over the sentence's span in the chunk's embed text,
  normalised (`index.pooling`). A sentence not found in that text, past the model's
  token limit, of a chunk not embedded now, or with an embedder without
  `embed_with_spans` (the test fakes) is encoded alone: counted as `alone`.
- `separate`: every chunk and every sentence encoded on its own (before 0.15).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from index.pooling import SpanEmbedder, find_spans

if TYPE_CHECKING:
    from index.embedder import Embedder
    from ingest.types import Chunk, Sentence

SentenceVectors = Literal["pooled", "separate"]


@dataclass(frozen=True)
class NewVectors:
    """Vectors by text hash; `pooled`/`alone`: how many sentence vectors were pooled from
    their chunk's pass, how many encoded alone."""

    chunks: dict[str, np.ndarray]
    sentences: dict[str, np.ndarray]
    pooled: int = 0
    alone: int = 0


def embed_new(embedder: Embedder, chunks: Mapping[str, Chunk],
              sentences: Mapping[str, Sentence], method: SentenceVectors) -> NewVectors:
    """Vectors for `chunks` and `sentences` (each keyed by the hash of its embed text)."""
    if method == "separate" or not isinstance(embedder, SpanEmbedder):
        texts = [c.embed_text() for c in chunks.values()]
        texts += [s.embed_text for s in sentences.values()]
        vectors = _encode(embedder, texts)
        n = len(chunks)
        return NewVectors(dict(zip(chunks, vectors[:n], strict=True)),
                          dict(zip(sentences, vectors[n:], strict=True)),
                          alone=len(sentences))
    by_chunk: dict[str, list[tuple[str, Sentence]]] = {}
    for h, s in sentences.items():
        by_chunk.setdefault(s.chunk_id, []).append((h, s))
    texts, spans, owners = [], [], []  # owners: sentence hashes in the order of spans
    alone: dict[str, Sentence] = dict(sentences)
    for chunk in chunks.values():
        text = chunk.embed_text()
        mine = by_chunk.get(chunk.id, [])
        found = find_spans(text, [(s.embed_text, _bare(s.text)) for _, s in mine])
        kept = [(h, span) for (h, _), span in zip(mine, found, strict=True) if span]
        texts.append(text)
        spans.append([span for _, span in kept])
        owners += [h for h, _ in kept]
    out = embedder.embed_with_spans(texts, spans) if texts else None
    pooled: dict[str, np.ndarray] = {}
    if out is not None:
        for h, vector, ok in zip(owners, out.spans, out.ok, strict=True):
            if ok:
                pooled[h] = vector
                alone.pop(h, None)
    rest = _encode(embedder, [s.embed_text for s in alone.values()])
    return NewVectors(
        dict(zip(chunks, out.texts, strict=True)) if out is not None else {},
        {**pooled, **dict(zip(alone, rest, strict=True))}, len(pooled), len(alone))


def _bare(text: str) -> str:
    return text[2:] if text.startswith("• ") else text


def _encode(embedder: Embedder, texts: list[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    return embedder.embed_documents(texts)
