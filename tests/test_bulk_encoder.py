"""Bulk encoding on torch in bfloat16 (`index.bulk`): the int8 model's weights on torch give
onnxruntime's vectors, bfloat16 stays within a hair of float32, large batches go to torch
while questions stay on onnxruntime, and a graph of another shape is refused clearly.

These load the real int8 model and sentence-transformers (a few seconds)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from app.config import Settings
from index.bulk import BULK_MIN, TorchBulkEncoder, int8_state_dict, use_bf16
from index.embedder import OnnxInt8Embedder, SentenceTransformerEmbedder
from ingest.errors import ConfigError

TEXTS = [
    "Lambert-Eaton myasthenic syndrome is associated with small cell lung cancer.",
    "Paraneoplastic neuropathies may progress rapidly over weeks to months.",
    "Treatment of the underlying tumour can improve the weakness.",
    "• Dermatomyositis",
    "A much longer passage about muscle weakness, which describes how antibodies against "
    "voltage-gated calcium channels reduce the release of acetylcholine at the nerve "
    "terminal, and how repeated effort briefly improves strength in some patients.",
]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1)


@pytest.fixture(scope="module")
def onnx_embedder() -> OnnxInt8Embedder:
    return OnnxInt8Embedder(bf16="off")


def test_int8_weights_on_torch_give_onnxruntime_vectors(onnx_embedder) -> None:
    reference = onnx_embedder.embed_documents(TEXTS)
    torch_fp32 = TorchBulkEncoder(onnx_embedder._folder, False,
                                  lambda: int8_state_dict(onnx_embedder._onnx))
    assert cosines(torch_fp32.encode(TEXTS, 2, 384), reference).min() > 0.99999
    torch_bf16 = TorchBulkEncoder(onnx_embedder._folder, True,
                                  lambda: int8_state_dict(onnx_embedder._onnx))
    close = cosines(torch_bf16.encode(TEXTS, 2, 384), reference)
    assert close.min() > 0.999, close


def test_fp32_model_in_bf16_stays_close_to_float32() -> None:
    fp32 = SentenceTransformerEmbedder(bf16="off").embed_documents(TEXTS)
    bf16 = SentenceTransformerEmbedder(bf16="on").embed_documents(TEXTS)
    assert cosines(fp32, bf16).min() > 0.999


def test_large_batches_go_to_torch_questions_stay_on_onnxruntime(onnx_embedder) -> None:
    embedder = OnnxInt8Embedder(bf16="on")
    few = embedder.embed_documents(TEXTS)
    assert not embedder._bulk.loaded  # a few texts: onnxruntime, no torch loaded for them
    np.testing.assert_array_equal(few, onnx_embedder.embed_documents(TEXTS))
    done: list[int] = []
    many = embedder.embed_documents(TEXTS * (BULK_MIN // len(TEXTS)), done.append)
    assert embedder._bulk.loaded and sum(done) == len(many)
    assert cosines(many[:len(TEXTS)], few).min() > 0.999
    question = "What causes Lambert-Eaton myasthenic syndrome?"
    np.testing.assert_array_equal(embedder.embed_query(question),
                                  onnx_embedder.embed_query(question))


def test_a_graph_of_another_shape_is_refused(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.ones((4, 4), dtype=np.int8), "w_q")
    scale = numpy_helper.from_array(np.array(0.5, dtype=np.float32), "w_scale")
    graph = helper.make_graph(
        [helper.make_node("Cast", ["w_q"], ["w_f"], to=TensorProto.FLOAT),
         helper.make_node("Mul", ["w_f", "w_scale"], ["w"]),
         helper.make_node("MatMul", ["x", "w"], ["y"])], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        initializer=[weight, scale])
    path = tmp_path / "tiny.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(ConfigError, match="1 weight matrices.*CITEWISE_EMBED_BF16=off"):
        int8_state_dict(path)


def test_the_setting() -> None:
    assert use_bf16("on") and not use_bf16("off")
    assert Settings(_env_file=None).embed_bf16 == "auto"
    with pytest.raises(ValidationError):
        Settings(embed_bf16="yes", _env_file=None)
