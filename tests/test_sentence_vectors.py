"""Sentence vectors pooled from the chunk's own encoder pass (`index.pooling`,
`index.sentence_vectors`), their fallbacks, and the `CITEWISE_SENTENCE_VECTORS` setting.

A toy span embedder (one fixed vector per word, the text's vector their mean) makes the
expected pooled vector computable by hand; the int8 ONNX model (about a second to load)
checks the real token offsets and truncation.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from pydantic import ValidationError

from app.config import Settings
from app.service import Citewise
from index.embedder import INT8_MODEL, make_embedder
from index.pooling import SpanVectors, find_spans, pool_spans
from index.sentence_vectors import embed_new
from index.vectors import text_hash
from ingest.chunking import chunk_sentences
from ingest.types import Chunk
from tests.fakes import HashingEmbedder

DIM = 16


def word_vector(word: str) -> np.ndarray:
    digest = hashlib.sha256(word.encode()).digest()
    return np.frombuffer(digest[:DIM], dtype=np.uint8).astype(np.float32) - 127.5


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


class WordSpanEmbedder(HashingEmbedder):
    """Tokens are whitespace-separated words; a span's vector is the mean of its words'."""

    def __init__(self, max_words: int = 1000):
        super().__init__(name="fake-words", dim=DIM)
        self.max_words = max_words
        self.span_calls = 0  # texts passed to embed_with_spans

    def _tokens(self, text: str) -> list[tuple[int, int]]:
        out, at = [], 0
        for word in text.split():
            at = text.index(word, at)
            out.append((at, at + len(word)))
            at += len(word)
        return out[:self.max_words]

    def embed_with_spans(self, texts, spans) -> SpanVectors:
        self.span_calls += len(texts)
        vecs, parts, oks = [], [], []
        for text, mine in zip(texts, spans, strict=True):
            offsets = self._tokens(text)
            hidden = np.stack([word_vector(text[s:e]) for s, e in offsets])
            vecs.append(unit(hidden.mean(axis=0)))
            v, ok = pool_spans(hidden, offsets, [0] * len(offsets), mine,
                               truncated=len(text.split()) > self.max_words)
            parts.append(v)
            oks.append(ok)
        return SpanVectors(np.stack(vecs), np.concatenate(parts), np.concatenate(oks))


def chunk(text: str, heading: tuple[str, ...] = ("Guide", "Treatment"),
          glossary=(), cid: str = "d#0") -> Chunk:
    return Chunk(cid, "d", "Guide", heading, 0, len(text), text, glossary)


def keyed(chunks: list[Chunk]):
    sentences = chunk_sentences(chunks)
    return ({text_hash(c.embed_text()): c for c in chunks},
            {text_hash(s.embed_text): s for s in sentences}, sentences)


def test_find_spans_in_order_with_variants_and_misses() -> None:
    text = "Head\nA b. C d. A b."
    assert find_spans(text, [["A b."], ["A b."], ["nope", "C d."], ["missing"]]) == [
        (5, 9), (15, 19), (10, 14), None]


def test_pooled_span_is_the_normalised_mean_of_its_tokens() -> None:
    hidden = np.array([[9, 9], [1, 0], [3, 2], [0, 5], [9, 9]], dtype=np.float32)
    offsets = [(0, 0), (0, 3), (4, 6), (7, 9), (0, 0)]  # [CLS] w w w [SEP]
    vectors, ok = pool_spans(hidden, offsets, [1, 0, 0, 0, 1], [(0, 6), (7, 9), (20, 25)],
                             truncated=False)
    np.testing.assert_allclose(vectors[0], unit(np.array([4.0, 2.0])), atol=1e-6)
    np.testing.assert_allclose(vectors[1], unit(np.array([0.0, 5.0])), atol=1e-6)
    assert ok.tolist() == [True, True, False]  # no token there: encoded alone
    _, ok = pool_spans(hidden, offsets, [1, 0, 0, 0, 1], [(4, 6), (7, 12)], truncated=True)
    assert ok.tolist() == [True, False]  # runs past the cut of a truncated text


def test_sentence_vectors_come_from_the_chunk_pass() -> None:
    text = "Plasma exchange helps. • IVIG is also used. Rest helps too."
    new_chunks, new_sentences, sentences = keyed([chunk(text)])
    embedder = WordSpanEmbedder()
    new = embed_new(embedder, new_chunks, new_sentences, "pooled")
    assert (new.pooled, new.alone, embedder.span_calls, embedder.calls) == (3, 0, 1, 0)
    for s in sentences:  # the bullet is dropped, as in the sentence's own embed text
        expected = unit(np.mean([word_vector(w) for w in s.embed_text.split()], axis=0))
        np.testing.assert_allclose(new.sentences[text_hash(s.embed_text)], expected,
                                   atol=1e-5)
    assert sentences[1].embed_text == "IVIG is also used."


def test_a_sentence_not_found_or_past_the_cut_is_encoded_alone() -> None:
    # The glossary spells out LEMS only at its first use in the chunk, but in each
    # sentence encoded alone: the second sentence's expanded text is not in the chunk's.
    glossary = (("LEMS", "Lambert-Eaton myasthenic syndrome"),)
    text = "LEMS is rare. LEMS weakens legs."
    new_chunks, new_sentences, sentences = keyed([chunk(text, glossary=glossary)])
    embedder = WordSpanEmbedder()
    new = embed_new(embedder, new_chunks, new_sentences, "pooled")
    assert (new.pooled, new.alone) == (2, 0)  # found as it stands in the chunk instead
    long = " ".join(f"Word{i} ends here." for i in range(10))
    new_chunks, new_sentences, sentences = keyed([chunk(long)])
    embedder = WordSpanEmbedder(max_words=12)  # heading (2 words) + 10 of 30 words
    new = embed_new(embedder, new_chunks, new_sentences, "pooled")
    assert (new.pooled, new.alone, embedder.calls) == (3, 7, 7)
    last = sentences[-1]
    np.testing.assert_allclose(new.sentences[text_hash(last.embed_text)],
                               embedder.embed_documents([last.embed_text])[0], atol=1e-6)


def test_separate_and_embedders_without_spans_encode_every_text_alone() -> None:
    text = "Plasma exchange helps. IVIG is also used."
    new_chunks, new_sentences, sentences = keyed([chunk(text)])
    plain = HashingEmbedder()
    for method in ("pooled", "separate"):  # the fake has no embed_with_spans
        new = embed_new(plain, new_chunks, new_sentences, method)
        assert (new.pooled, new.alone) == (0, 2)
        for s in sentences:
            np.testing.assert_array_equal(new.sentences[text_hash(s.embed_text)],
                                          plain.embed_query(s.embed_text))
    spans = WordSpanEmbedder()
    new = embed_new(spans, new_chunks, new_sentences, "separate")
    assert (spans.span_calls, spans.calls, new.alone) == (0, 3, 2)


def test_int8_pooled_vectors_match_its_own_token_states() -> None:
    embedder = make_embedder(INT8_MODEL, batch_size=2)
    texts = ["Guide > Treatment\nPlasma exchange removes antibodies. IVIG is also used.",
             "Short."]
    spans = [[(18, 52), (53, 71)], [(0, 6)]]
    out = embedder.embed_with_spans(texts, spans)
    np.testing.assert_allclose(out.texts, embedder.embed_documents(texts), atol=1e-5)
    assert out.ok.tolist() == [True, True, True]
    session, tok = embedder._load()
    enc = tok.encode(texts[0])
    ids = np.array([enc.ids], dtype=np.int64)
    hidden = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                "token_type_ids": np.zeros_like(ids)})[0][0]
    take = [i for i, (s, e) in enumerate(enc.offsets)
            if not enc.special_tokens_mask[i] and s < 52 and e > 18]
    np.testing.assert_allclose(out.spans[0], unit(hidden[take].mean(axis=0)), atol=1e-5)
    # past the 256-token cut: not pooled
    long = "Guide\n" + "word " * 300 + "The last sentence."
    cut = embedder.embed_with_spans([long], [[(6, 20), (len(long) - 18, len(long))]])
    assert cut.ok.tolist() == [True, False]


def test_the_setting_reaches_the_sync(settings: Settings) -> None:
    assert Settings(_env_file=None).sentence_vectors == "separate"
    with pytest.raises(ValidationError):
        Settings(sentence_vectors="both", _env_file=None)
    embedder = WordSpanEmbedder()
    pooled = Citewise(settings.model_copy(update={"sentence_vectors": "pooled"}), embedder)
    summary = pooled.ingest()
    assert summary.sentences_pooled > 0 and embedder.span_calls == summary.chunks_embedded
    assert summary.to_json()["sentences_pooled"] == summary.sentences_pooled
    assert summary.sentences_alone == embedder.calls  # only the fallbacks encoded alone


def test_each_way_of_making_vectors_has_its_own_distractor_index(tmp_path) -> None:
    from eval.command import distractor_index_name

    def name(**update) -> str:
        return distractor_index_name(Settings(index_dir=tmp_path / "none", _env_file=None,
                                              **update))

    assert name(embedding_model="all-MiniLM-L6-v2") == "index"  # the cache made before
    assert name() == "index-all-MiniLM-L6-v2-int8-separate"
    assert name(sentence_vectors="pooled") == "index-all-MiniLM-L6-v2-int8-pooled"
    assert name(embedding_model="/models/my model") == "index-_models_my_model-separate"
