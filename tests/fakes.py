"""A deterministic fake embedder for logic tests: bag of hashed words.

Each word (lower-cased, the index's tokenizer) adds +1 or -1 to a few of `dim` positions
chosen by sha256 of the word (not `hash()`, which is salted per process). Texts that share
words get a positive cosine; texts that share none are near orthogonal. One can reason
about its rankings by eye.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ingest.text import search_words as tokenize

if TYPE_CHECKING:
    from app.service import Citewise


class HashingEmbedder:
    def __init__(self, name: str = "fake-hashing", dim: int = 256, max_tokens: int = 256):
        self.name = name
        self._dim = dim
        self._max_tokens = max_tokens
        self.calls = 0  # how many texts were embedded

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 2

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self._dim, dtype=np.float32)
        for word in tokenize(text):
            digest = hashlib.sha256(word.encode()).digest()
            for i in range(3):
                pos = int.from_bytes(digest[4 * i:4 * i + 4], "little") % self._dim
                v[pos] += 1.0 if digest[12 + i] % 2 else -1.0
        norm = np.linalg.norm(v)
        return v / norm if norm else v

    def embed_documents(self, texts: list[str],
                        progress: Callable[[int], None] | None = None) -> np.ndarray:
        self.calls += len(texts)
        out = np.stack([self._vector(t) for t in texts]) if texts else \
            np.zeros((0, self._dim), dtype=np.float32)
        if progress:
            progress(len(texts))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)


class ScriptedGenerator:
    """A fake language model: `reply(messages)` decides the reply, streamed a few characters
    at a time. The default reply copies the first numbered source of the prompt and cites
    it, like a faithful model; pass `reply=` for one that invents, refuses or obeys
    injected instructions. `calls` keeps every message list it was sent."""

    name = "scripted"

    def __init__(self, reply: Callable[[list[dict]], str] | None = None, step: int = 7):
        self.reply = reply or copy_first_source
        self.step = step
        self.calls: list[list[dict]] = []

    def stream(self, messages, max_tokens: int):
        self.calls.append(list(messages))
        text = self.reply(list(messages))
        for i in range(0, len(text), self.step):
            yield text[i:i + self.step]


def numbered_sources(messages: list[dict]) -> list[str]:
    """The evidence sentences of an answer prompt, in order."""
    import re

    return re.findall(r"^\[\d+\] (.*)$", messages[-1]["content"], re.MULTILINE)


def copy_first_source(messages: list[dict]) -> str:
    sources = numbered_sources(messages)
    if not sources:  # a rewrite prompt: return the last question as is
        return messages[-1]["content"].rsplit("User: ", 1)[-1].split("\n")[0]
    return f"{sources[0]} [1]"


def generative(settings, embedder, reply=None) -> tuple[Citewise, ScriptedGenerator]:
    """A service in generative mode over `settings`, answering with a scripted model;
    ingested."""
    from app.service import Citewise

    model = ScriptedGenerator(reply)
    service = Citewise(settings.model_copy(update={"answer_mode": "generative"}), embedder,
                       generator=model)
    service.ingest()
    return service, model
