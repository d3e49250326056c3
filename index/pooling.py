"""Sentence vectors from the chunk's own forward pass: spans and mean pooling.

`SpanEmbedder` is the small protocol of an embedder that can return, beside each text's
vector, the vector of character spans inside it: the mean of the token states whose
characters overlap the span, L2-normalised (the model's own pooling, on part of the
text). `find_spans` locates each sentence inside its chunk's embed text; `pool_spans`
pools the token states of one text. A span that is not found, or lies past the model's
token limit where the text was cut, gets no vector here: the caller encodes it alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

Span = tuple[int, int]


@dataclass(frozen=True)
class SpanVectors:
    """`texts[i]`'s vector; `spans[j]` the j-th span's (flat, in the order of the texts
    and then of their spans), with `ok[j]` False where it could not be pooled."""

    texts: np.ndarray
    spans: np.ndarray
    ok: np.ndarray


@runtime_checkable
class SpanEmbedder(Protocol):
    def embed_with_spans(self, texts: list[str],
                         spans: list[list[Span]]) -> SpanVectors: ...


def find_spans(text: str, parts: Sequence[Sequence[str]]) -> list[Span | None]:
    """The character span of each part inside `text`, searched in order from where the
    previous one ended; each part is a list of variants tried in turn (the sentence as
    embedded alone, then as it stands in the chunk). None: no variant was found."""
    out: list[Span | None] = []
    cursor = 0
    for variants in parts:
        span = None
        for variant in variants:
            if not variant:
                continue
            at = text.find(variant, cursor)
            if at < 0:
                at = text.find(variant)
            if at >= 0:
                span = (at, at + len(variant))
                break
        out.append(span)
        if span is not None:
            cursor = span[1]
    return out


def pool_spans(hidden: np.ndarray, offsets: Sequence[Span], special: Sequence[int],
               spans: Sequence[Span], truncated: bool) -> tuple[np.ndarray, np.ndarray]:
    """(span vectors, ok) for one text: `hidden` its token states (n_tokens x dim),
    `offsets` each token's character span, `special` 1 for [CLS]/[SEP]/padding. A span
    with no token, or (when the text was `truncated`) ending past the last token kept,
    is not ok and its row is zero."""
    dim = hidden.shape[1]
    vectors = np.zeros((len(spans), dim), dtype=np.float32)
    ok = np.zeros(len(spans), dtype=bool)
    if not spans:
        return vectors, ok
    n = min(len(offsets), hidden.shape[0])
    starts = np.fromiter((o[0] for o in offsets[:n]), dtype=np.int64, count=n)
    ends = np.fromiter((o[1] for o in offsets[:n]), dtype=np.int64, count=n)
    real = (np.asarray(special[:n]) == 0) & (ends > starts)
    last_end = int(ends[real].max()) if real.any() else 0
    for j, (s, e) in enumerate(spans):
        if truncated and e > last_end:
            continue
        take = real & (starts < e) & (ends > s)
        if not take.any():
            continue
        v = hidden[:n][take].mean(axis=0)
        norm = float(np.linalg.norm(v))
        if norm > 0:
            vectors[j] = v / norm
            ok[j] = True
    return vectors, ok


def mean_pool(hidden: np.ndarray) -> np.ndarray:
    """The text's vector from its (unpadded) token states: mean, then L2 norm."""
    v = hidden.mean(axis=0)
    return v / max(float(np.linalg.norm(v)), 1e-12)
