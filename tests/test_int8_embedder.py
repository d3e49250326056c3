"""The int8 ONNX embedder (`all-MiniLM-L6-v2-int8`) and `make_embedder`.

The int8 model runs on onnxruntime in about a second, so its shape and normalisation are
checked in the default run; the comparison with the fp32 model loads torch (marked slow).
"""

from __future__ import annotations

import numpy as np
import pytest

from index.embedder import (
    INT8_MODEL,
    PACKAGED_MODEL,
    OnnxInt8Embedder,
    SentenceTransformerEmbedder,
    make_embedder,
)

SENTENCES = [
    "Paraneoplastic muscle weakness is primarily caused by antibody-mediated autoimmunity.",
    "Lambert-Eaton myasthenic syndrome is linked to small cell lung cancer.",
    "Antibodies against voltage-gated calcium channels reduce acetylcholine release.",
    "The capital of Australia is Canberra.",
    "Fatigue.",
]


@pytest.fixture(scope="module")
def int8() -> OnnxInt8Embedder:
    embedder = make_embedder(INT8_MODEL, batch_size=2)
    assert isinstance(embedder, OnnxInt8Embedder)
    return embedder


def test_make_embedder_picks_the_implementation_by_name() -> None:
    assert isinstance(make_embedder(PACKAGED_MODEL, 16), SentenceTransformerEmbedder)
    embedder = make_embedder(INT8_MODEL, 16)
    assert isinstance(embedder, OnnxInt8Embedder)
    assert (embedder.name, embedder.batch_size) == (INT8_MODEL, 16)


def test_int8_is_the_same_shape_as_the_packaged_model(int8: OnnxInt8Embedder) -> None:
    assert (int8.dim, int8.max_tokens) == (384, 256)


def test_int8_vectors_are_unit_rows_in_input_order(int8: OnnxInt8Embedder) -> None:
    vecs = int8.embed_documents(SENTENCES)
    assert vecs.shape == (len(SENTENCES), 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    # Batches are formed after sorting by length: each row must still be its own text's.
    for i, text in enumerate(SENTENCES):
        np.testing.assert_allclose(vecs[i], int8.embed_query(text), atol=1e-5)
    assert int8.embed_documents([]).shape == (0, 384)


def test_int8_ranks_the_related_sentence_first(int8: OnnxInt8Embedder) -> None:
    q = int8.embed_query("What causes paraneoplastic weakness?")
    vecs = int8.embed_documents(SENTENCES)
    assert int(np.argmax(vecs @ q)) == 0


def test_int8_truncates_long_texts_to_the_model_limit(int8: OnnxInt8Embedder) -> None:
    long = " ".join(["myasthenia gravis thymoma"] * 300)
    assert int8.count_tokens(long) > 256  # counting does not truncate...
    vec = int8.embed_query(long)  # ...embedding does
    assert vec.shape == (384,) and np.isfinite(vec).all()


def test_int8_counts_tokens_as_the_packaged_tokenizer_does(int8: OnnxInt8Embedder) -> None:
    fp32 = SentenceTransformerEmbedder(PACKAGED_MODEL)
    for text in SENTENCES:
        assert int8.count_tokens(text) == fp32.count_tokens(text)


@pytest.mark.slow
def test_int8_vectors_are_close_to_fp32(int8: OnnxInt8Embedder) -> None:
    fp32 = SentenceTransformerEmbedder(PACKAGED_MODEL, batch_size=2)
    a, b = int8.embed_documents(SENTENCES), fp32.embed_documents(SENTENCES)
    cosines = (a * b).sum(axis=1)
    assert cosines.min() >= 0.99, cosines
