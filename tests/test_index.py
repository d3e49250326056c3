"""Index: fusion, BM25, and syncing a folder with the fake embedder."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from app.config import Settings
from app.service import Citewise
from index.hybrid import rrf
from index.lexical import BM25Index
from index.store import Index
from ingest.errors import IndexMismatchError, IndexMissingError, SourcesError
from ingest.text import search_words, stem
from tests.fakes import HashingEmbedder

# -- fusion and lexical -------------------------------------------------------------------


def test_rrf_sums_reciprocal_ranks() -> None:
    scores = rrf([["a", "b", "c"], ["c", "a"]], rrf_k=60)
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["b"] == pytest.approx(1 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert sorted(scores, key=lambda i: -scores[i]) == ["a", "c", "b"]


def test_weighted_rrf_scales_each_ranking() -> None:
    scores = rrf([["a", "b"], ["b", "a"]], rrf_k=5, weights=(1.0, 0.5))
    assert scores["a"] == pytest.approx(1 / 6 + 0.5 / 7)
    assert scores["b"] == pytest.approx(1 / 7 + 0.5 / 6)
    assert scores["a"] > scores["b"]  # the heavier ranking breaks the tie


def test_rrf_item_in_both_lists_beats_top_of_one() -> None:
    scores = rrf([["x", "both"], ["y", "both"]])
    assert scores["both"] > scores["x"] and scores["both"] > scores["y"]


def test_stem_and_tokenize() -> None:
    assert stem("antibodies") == "antibody"
    assert stem("syndromes") == stem("syndrome") == "syndrom"
    assert stem("causes") == stem("caused") == stem("cause")
    assert stem("diagnosis") == "diagnosis"
    assert search_words("The Causes of weakness") == ["caus", "weakness"]


def test_bm25_ranks_matching_chunk_first(tmp_path: Path) -> None:
    index = BM25Index.build(["a", "b", "c"], [
        "calcium channels at the neuromuscular junction",
        "small cell lung cancer and neuropathy",
        "thymoma and regulatory T cells",
    ])
    index.save(tmp_path)
    loaded = BM25Index.load(tmp_path)
    assert [i for i, _ in loaded.search("lung cancer", 3)][0] == "b"
    assert loaded.search("completely unrelated words", 3) == []


def test_bm25_loads_take_turns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """numpy parses each array header with `ast`, which CPython 3.11 cannot do in two
    threads at once (index/lexical.py): no two loads may overlap."""
    import bm25s

    BM25Index.build(["a"], ["thymoma"]).save(tmp_path)
    real_load, inside, most = bm25s.BM25.load, [0], [0]

    def slow_load(*args: object, **kwargs: object) -> object:
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        time.sleep(0.05)
        inside[0] -= 1
        return real_load(*args, **kwargs)

    monkeypatch.setattr(bm25s.BM25, "load", slow_load)
    threads = [threading.Thread(target=BM25Index.load, args=(tmp_path,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most == [1]


def test_threads_asking_at_once_load_bm25_once(
        service: Citewise, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    service.ingest()
    index = service.index
    loads: list[Path] = []
    real_load = BM25Index.load

    def counted(index_dir: Path) -> BM25Index:
        loads.append(index_dir)
        time.sleep(0.05)
        return real_load(index_dir)

    monkeypatch.setattr(BM25Index, "load", counted)
    threads = [threading.Thread(target=lambda: index.lexical) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loads == [settings.index_dir]


# -- sync ---------------------------------------------------------------------------------


def test_first_ingest_adds_everything_and_second_embeds_nothing(
        service: Citewise, embedder: HashingEmbedder) -> None:
    first = service.ingest()
    assert (len(first.added), len(first.unchanged), first.failed) == (2, 0, [])
    assert first.chunks_embedded == first.chunks_total > 0
    calls = embedder.calls
    second = service.ingest()
    assert (len(second.added), len(second.unchanged), second.chunks_embedded) == (0, 2, 0)
    assert embedder.calls == calls


def test_changed_and_deleted_documents(service: Citewise, sources: Path) -> None:
    service.ingest()
    doc = sources / "000_ca9eb5d6de5c83e8.txt"
    anchor = "Paraneoplastic Syndrome\n"
    doc.write_text(doc.read_text().replace(
        anchor, anchor + "\nThymectomy is a new paragraph about surgery.\n", 1))
    (sources / "004_5e456227b6f932b4.txt").unlink()
    summary = service.ingest()
    assert summary.updated == ["000_ca9eb5d6de5c83e8.txt"]
    assert summary.removed == ["004_5e456227b6f932b4.txt"]
    index = service.index
    assert set(index.manifest.docs()) == {"000_ca9eb5d6de5c83e8.txt"}
    manifest_ids = {c.id for c in index.manifest.all_chunks()}
    assert index.vectors.chunk_ids() == manifest_ids
    assert set(index.lexical.ids) == manifest_ids
    assert index.vectors.sentence_chunk_ids() == manifest_ids
    hits = service.ask("Which surgery is mentioned? Thymectomy").hits
    assert "Thymectomy" in hits[0].chunk.text


def test_bad_file_is_reported_and_the_rest_ingested(service: Citewise, sources: Path) -> None:
    (sources / "empty.txt").write_bytes(b"")
    (sources / "binary.txt").write_bytes(bytes(range(256)) * 10)
    (sources / "notes.docx").write_bytes(b"PK\x03\x04")
    (sources / "notes.rtf").write_bytes(b"{\\rtf1 text}")
    summary = service.ingest()
    assert len(summary.added) == 2
    reasons = {Path(p).name: r for p, r in summary.failed}
    assert reasons["empty.txt"] == "file is empty"
    assert "binary" in reasons["binary.txt"]
    assert "damaged Word document" in reasons["notes.docx"]
    assert any(Path(p).name == "notes.rtf" and "unsupported" in r for p, r in summary.skipped)


def test_a_file_that_breaks_keeps_what_was_indexed(service: Citewise, sources: Path) -> None:
    service.ingest()
    (sources / "000_ca9eb5d6de5c83e8.txt").write_bytes(b"\x00\x01\x02" * 100)
    summary = service.ingest()
    assert summary.removed == [] and len(summary.failed) == 1
    assert "000_ca9eb5d6de5c83e8.txt" in service.index.manifest.docs()


def test_ingest_explicit_file_outside_sources(service: Citewise, tmp_path: Path) -> None:
    extra = tmp_path / "extra.md"
    extra.write_text("# Extra\n\nPlasmapheresis removes antibodies from the blood.\n")
    summary = service.ingest([extra])
    assert len(summary.added) == 1 and summary.chunks_total > 0


def test_empty_sources_folder_is_a_clear_error(tmp_path: Path,
                                               embedder: HashingEmbedder) -> None:
    (tmp_path / "empty").mkdir()
    settings = Settings(sources_dir=tmp_path / "empty", index_dir=tmp_path / "i", _env_file=None)
    with pytest.raises(SourcesError, match="holds no .txt"):
        Citewise(settings, embedder).ingest()


def test_asking_without_an_index_is_a_clear_error(service: Citewise) -> None:
    with pytest.raises(IndexMissingError, match="run `citewise ingest` first"):
        service.ask("anything")


def test_other_embedding_model_is_refused_then_rebuilt(settings: Settings,
                                                       service: Citewise) -> None:
    service.ingest()
    other = Citewise(settings, HashingEmbedder(name="another-model"))
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        other.ingest()
    summary = other.ingest(rebuild=True)
    assert len(summary.added) == 2


def test_other_chunk_settings_are_taken_up_by_the_next_ingest(
        settings: Settings, service: Citewise, embedder: HashingEmbedder) -> None:
    service.ingest()
    other = Citewise(settings.model_copy(update={"chunk_tokens": 96}), embedder)
    with pytest.raises(IndexMismatchError, match="run `citewise ingest` to re-chunk"):
        other.ask("What causes paraneoplastic muscle weakness?")
    summary = other.ingest()
    assert sorted(summary.updated) == ["000_ca9eb5d6de5c83e8.txt", "004_5e456227b6f932b4.txt"]
    assert summary.chunks_embedded > 0
    records = other.index.manifest.docs().values()
    assert {r.chunker for r in records} == {other._chunker().fingerprint()}
    assert other.ask("What causes paraneoplastic muscle weakness?").citations
    again = other.ingest()
    assert (len(again.unchanged), again.chunks_embedded) == (2, 0)


def test_other_dimension_is_refused_by_the_vector_store(settings: Settings,
                                                        service: Citewise) -> None:
    service.ingest()
    Index.wipe(settings.index_dir)
    service.ingest()
    with pytest.raises(IndexMismatchError):
        from index.vectors import ChromaVectors

        ChromaVectors(settings.index_dir / "chroma", "fake-hashing", 128)


def test_vector_search_explores_ef_search_candidates_in_cosine_space(tmp_path: Path) -> None:
    """An index made before `EF_SEARCH` gets it on open, and keeps its cosine space."""
    from index.vectors import CHUNKS, EF_SEARCH, SENTENCES, ChromaVectors, _client

    old = _client(tmp_path).get_or_create_collection(
        CHUNKS, embedding_function=None,
        metadata={"hnsw:space": "cosine", "embedding_model": "m", "dim": 3})
    assert old.configuration_json["hnsw"]["ef_search"] != EF_SEARCH
    old.add(ids=["far-same-direction", "near-other-direction"],
            embeddings=[[10.0, 0.0, 0.0], [0.9, 0.5, 0.0]])
    store = ChromaVectors(tmp_path, "m", 3)
    for name in (CHUNKS, SENTENCES):
        hnsw = _client(tmp_path).get_collection(name).configuration_json["hnsw"]
        assert (hnsw["ef_search"], hnsw["space"]) == (EF_SEARCH, "cosine")
    # by cosine the first is nearer; by l2 the second would be
    assert store.query_chunks(np.array([1.0, 0.1, 0.0]), 1) == ["far-same-direction"]


def test_orphan_vectors_from_an_interrupted_run_are_removed(service: Citewise) -> None:
    service.ingest()
    index = service.index
    doc_id = "004_5e456227b6f932b4.txt"
    ids = index.manifest.chunk_ids(doc_id)
    index.manifest.remove_doc(doc_id)  # as if the run died after the manifest changed
    summary = service.ingest()
    assert summary.added == [doc_id]
    index = service.index  # ingest closed the old handle; this opens the updated index
    assert index.vectors.chunk_ids() == {c.id for c in index.manifest.all_chunks()}
    assert set(ids) <= index.vectors.chunk_ids()
