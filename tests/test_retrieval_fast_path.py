"""The fast paths of retrieval return what the plain ones do (speed itself is benchmarked
in bench/query.py, not tested)."""

from __future__ import annotations

from app.service import Citewise
from index.vectors import sentence_ids_of
from tests.conftest import QUESTION


def _key(vectors) -> list[tuple]:
    return sorted((v.chunk_id, v.start, v.end, tuple(float(x) for x in v.vector[:4]))
                  for v in vectors)


def test_sentences_by_id_equal_sentences_by_chunk_filter(service: Citewise) -> None:
    service.ingest()
    index = service.index
    ids = sorted(index.manifest.all_chunk_ids())
    chunks = index.manifest.get_chunks(ids)
    by_filter = index.vectors.sentence_vectors(ids)
    sentence_ids = [sid for cid in ids for sid in sentence_ids_of(chunks[cid])]
    by_id = index.vectors.sentence_vectors(ids, sentence_ids)
    assert by_filter and _key(by_id) == _key(by_filter)


def test_chunks_whose_sentence_ids_miss_fall_back_to_the_filter(service: Citewise) -> None:
    service.ingest()
    index = service.index
    ids = sorted(index.manifest.all_chunk_ids())
    chunks = index.manifest.get_chunks(ids)
    first, rest = ids[0], ids[1:]
    sentence_ids = [sid for cid in rest for sid in sentence_ids_of(chunks[cid])]
    sentence_ids.append(f"{first}:no-such-sentence")
    assert _key(index.vectors.sentence_vectors(ids, sentence_ids)) == \
        _key(index.vectors.sentence_vectors(ids))


def test_search_finds_hits_with_their_sentences(service: Citewise) -> None:
    service.ingest()
    hits = service.index.retriever().search(QUESTION, 3)
    assert hits and all(hit.sentences for hit in hits)
