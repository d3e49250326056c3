"""The sync contract, run on both vector stores: the embedded PersistentClient and a real
Chroma server (`chroma run`, through `chromadb.HttpClient`).

Every test ends with the index's health check: Chroma holds exactly the manifest's chunks
(and their sentences), the BM25 index holds the same ids once each.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from chromadb.api.models.Collection import Collection
from click.testing import CliRunner

import app.service
import index.sync
import index.vectors
from app.cli import cli
from app.config import Settings
from app.service import Citewise
from index.lexical import BM25Index
from index.vectors import ChromaVectors
from tests.child import index_health
from tests.conftest import ROOT, free_port
from tests.fakes import HashingEmbedder

LEMS = "004_5e456227b6f932b4.txt"
CASE = "000_ca9eb5d6de5c83e8.txt"
# A sentence of each document, asked back: the fake embedder finds it, and answers with it.
QUESTIONS = {
    LEMS: "The etiology of paraneoplastic muscle weakness is complex and multifactorial.",
    CASE: "Paraneoplastic syndrome is the condition caused due to the presence of cancer cells "
          "in the body.",
}
NEW_DOC = ("# Plasmapheresis\n\nPlasmapheresis removes pathogenic antibodies from the blood "
           "of patients with Lambert-Eaton myasthenic syndrome.\n")
NEW_QUESTION = ("Plasmapheresis removes pathogenic antibodies from the blood of patients with "
                "Lambert-Eaton myasthenic syndrome.")


@pytest.fixture(params=["embedded", "server"])
def settings(request: pytest.FixtureRequest, tmp_path: Path, sources: Path) -> Settings:
    """Overrides conftest's: the same settings, once per vector store."""
    url = None
    if request.param == "server":
        url = request.getfixturevalue("chroma_server")
        ChromaVectors.drop(tmp_path, url)  # the server outlives each test: start empty
    return Settings(sources_dir=sources, index_dir=tmp_path / "index", chroma_url=url,
                    _env_file=None)


def healthy(service: Citewise, questions: dict[str, str] | None = None) -> dict:
    health = index_health(service, questions or {})
    assert health["chroma_equals_manifest"] and health["sentences_equal_manifest"]
    assert health["lexical_equals_manifest"]
    assert health["chroma_chunks"] == health["manifest_chunks"] == health["manifest_unique"]
    assert all(health["answered"].values()), health["answered"]
    return health


def test_first_ingest_adds_everything_and_second_embeds_nothing(
        service: Citewise, embedder: HashingEmbedder) -> None:
    first = service.ingest()
    assert (len(first.added), first.failed) == (2, [])
    assert first.chunks_embedded == first.chunks_total > 0
    calls = embedder.calls
    second = service.ingest()
    data = second.to_json()
    assert set(data) == {"added", "updated", "removed", "unchanged", "failed", "skipped",
                         "removed_docs", "kept_outside", "warnings", "pages",
                         "chunks_embedded", "chunks_total", "sentences_pooled",
                         "sentences_alone"}
    assert (data["added"], data["unchanged"], data["chunks_embedded"]) == (0, 2, 0)
    assert (data["sentences_pooled"], data["sentences_alone"]) == (0, 0)  # nothing embedded
    assert embedder.calls == calls
    healthy(service, QUESTIONS)


def test_ask_reingest_after_a_change_and_delete(service: Citewise, sources: Path) -> None:
    service.ingest()
    assert not service.ask(QUESTIONS[LEMS]).abstained
    doc = sources / CASE
    anchor = "Paraneoplastic Syndrome\n"
    doc.write_text(doc.read_text().replace(
        anchor, anchor + "\nThymectomy is a new paragraph about surgery.\n", 1))
    (sources / LEMS).unlink()
    summary = service.ingest()
    assert (summary.updated, summary.removed) == ([CASE], [LEMS])
    assert "Thymectomy" in service.ask("Which surgery is mentioned? Thymectomy").hits[0].chunk.text
    assert healthy(service, {CASE: QUESTIONS[CASE]})["docs"] == [CASE]


def test_an_edit_re_embeds_only_the_passages_it_changed(
        service: Citewise, sources: Path) -> None:
    first = service.ingest()
    doc = sources / CASE
    text = doc.read_text()
    # A new paragraph near the top moves every later chunk (new ids), but not its text.
    anchor = "Paraneoplastic Syndrome\n"
    doc.write_text(text.replace(anchor, anchor + "\nThymectomy is a new paragraph.\n", 1))
    summary = service.ingest()
    assert summary.updated == [CASE]
    assert 0 < summary.chunks_embedded <= 3 < first.chunks_total
    assert summary.chunks_reused > 0
    healthy(service, QUESTIONS)


def test_a_renamed_or_moved_file_is_not_embedded_again(
        service: Citewise, sources: Path, embedder: HashingEmbedder) -> None:
    service.ingest()
    calls = embedder.calls
    (sources / "moved").mkdir()
    (sources / LEMS).rename(sources / "moved" / "lems.txt")
    (sources / CASE).rename(sources / "case-report.txt")
    summary = service.ingest()
    assert sorted(summary.added) == ["case-report.txt", "moved/lems.txt"]
    assert sorted(summary.removed) == [CASE, LEMS]
    assert summary.chunks_embedded == 0 and embedder.calls == calls
    healthy(service, {"moved/lems.txt": QUESTIONS[LEMS], "case-report.txt": QUESTIONS[CASE]})


def test_identical_files_are_both_tracked_and_one_can_go(
        service: Citewise, sources: Path, embedder: HashingEmbedder) -> None:
    service.ingest()
    calls = embedder.calls
    shutil.copy(sources / LEMS, sources / "copy-of-lems.txt")
    summary = service.ingest()
    assert summary.added == ["copy-of-lems.txt"] and summary.chunks_embedded == 0
    assert embedder.calls == calls
    both = {LEMS: QUESTIONS[LEMS], "copy-of-lems.txt": QUESTIONS[LEMS]}
    healthy(service, both)
    (sources / LEMS).unlink()
    assert service.ingest().removed == [LEMS]
    healthy(service, {"copy-of-lems.txt": QUESTIONS[LEMS]})


def test_a_document_larger_than_one_chroma_call_is_stored_whole_and_read_back(
        service: Citewise, sources: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Chroma takes at most get_max_batch_size() items per call; make that 7, and rounds of
    # 5 chunks, so one document needs many calls of each kind.
    real_init, real_upsert = ChromaVectors.__init__, Collection.upsert
    sizes: list[int] = []

    def small_batches(self, *args, **kwargs) -> None:
        real_init(self, *args, **kwargs)
        self._max_batch = 7

    def upsert(self, ids, *args, **kwargs):
        sizes.append(len(ids))
        return real_upsert(self, ids, *args, **kwargs)

    monkeypatch.setattr(ChromaVectors, "__init__", small_batches)
    monkeypatch.setattr(Collection, "upsert", upsert)
    monkeypatch.setattr(index.sync, "STORE_BATCH", 5)
    monkeypatch.setattr(index.vectors, "_SCAN_PAGE", 4)  # and whole-collection reads page
    summary = service.ingest()
    assert summary.chunks_total > 7 and summary.failed == []
    assert len(sizes) > 2 * summary.chunks_total / 7 and max(sizes) == 7
    health = healthy(service, QUESTIONS)
    assert health["chroma_chunks"] == summary.chunks_total


def test_orphans_and_a_drifted_lexical_index_are_repaired(service: Citewise) -> None:
    service.ingest()
    index = service.index
    ids = index.manifest.chunk_ids(LEMS)
    index.manifest.remove_doc(LEMS)  # as if the run died after the manifest changed
    ids_file = index.dir / BM25Index.DIRNAME / "ids.json"
    stale = json.loads(ids_file.read_text())
    ids_file.write_text(json.dumps(stale[:-1] + ["not-a-chunk"]))  # same count, wrong ids
    summary = service.ingest()
    assert summary.added == [LEMS] and summary.chunks_embedded == 0
    assert set(ids) <= service.index.vectors.chunk_ids()
    healthy(service, QUESTIONS)


def test_vectors_left_by_a_killed_run_are_removed(service: Citewise) -> None:
    import numpy as np

    from index.sync import SYNC_STATE
    from ingest.chunking import chunk_sentences
    from ingest.types import Chunk

    service.ingest()
    index = service.index
    # As if a run had stored a new chunk's vectors and died before the manifest switched.
    ghost = Chunk("ghost", LEMS, "t", (), 0, 27, "Half written. Never indexed.")
    sentences = chunk_sentences([ghost])
    dim = service.embedder.dim
    index.vectors.add([ghost], np.ones((1, dim), np.float32), sentences,
                      np.ones((len(sentences), dim), np.float32))
    index.manifest.set_meta(SYNC_STATE, "running")
    summary = service.ingest()
    assert (summary.added, summary.updated, summary.chunks_embedded) == ([], [], 0)
    assert "ghost" not in service.index.vectors.sentence_chunk_ids()
    healthy(service, QUESTIONS)


def test_rebuild_starts_from_nothing(service: Citewise, embedder: HashingEmbedder) -> None:
    first = service.ingest()
    calls = embedder.calls
    again = service.ingest(rebuild=True)
    assert len(again.added) == 2 and again.chunks_embedded == first.chunks_embedded
    assert embedder.calls == 2 * calls
    healthy(service, QUESTIONS)


# -- server mode through the command line ----------------------------------------------------


def test_cli_against_the_server(chroma_server: str, tmp_path: Path, sources: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.service, "default_embedder", lambda s: HashingEmbedder())
    monkeypatch.setenv("CITEWISE_SOURCES_DIR", str(sources))
    monkeypatch.setenv("CITEWISE_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.chdir(tmp_path)
    ChromaVectors.drop(tmp_path, chroma_server)

    def run(*args: str, input: str | None = None) -> str:
        result = CliRunner().invoke(cli, [*args, "--chroma-url", chroma_server], input=input,
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    assert json.loads(run("ingest", "--json"))["added"] == 2
    assert not (tmp_path / "index" / "chroma").exists()  # the vectors are on the server
    assert (tmp_path / "index" / "manifest.sqlite").exists()  # the manifest stays here
    answer = json.loads(run("ask", QUESTIONS[LEMS], "--json"))
    assert answer["citations"][0]["source"] == LEMS
    assert "[1]" in run("chat", "--k", "3", input=QUESTIONS[CASE] + "\n")
    # The same index without the flag is the embedded store, which holds nothing yet.
    result = CliRunner().invoke(cli, ["ingest", "--json"], catch_exceptions=False)
    assert json.loads(result.output)["chunks_embedded"] > 0


def test_an_unreachable_server_is_one_clear_line(tmp_path: Path, sources: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.service, "default_embedder", lambda s: HashingEmbedder())
    monkeypatch.setenv("CITEWISE_SOURCES_DIR", str(sources))
    monkeypatch.setenv("CITEWISE_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("CITEWISE_CHROMA_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["ingest"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Cannot reach the Chroma server at http://127.0.0.1:" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_with_a_server_a_serving_process_sees_another_process_ingest(
        chroma_server: str, tmp_path: Path, sources: Path) -> None:
    """The point of server mode: a process answering questions (say `citewise serve`) and
    a `citewise ingest` run from a shell share one index."""
    ChromaVectors.drop(tmp_path, chroma_server)
    settings = Settings(sources_dir=sources, index_dir=tmp_path / "index",
                        chroma_url=chroma_server, _env_file=None)
    reader = Citewise(settings, HashingEmbedder())
    reader.ingest()
    assert not reader.ask(QUESTIONS[LEMS]).abstained
    (sources / "plasmapheresis.md").write_text(NEW_DOC)
    env = {**os.environ, "CITEWISE_SOURCES_DIR": str(sources),
           "CITEWISE_INDEX_DIR": str(settings.index_dir), "CITEWISE_CHROMA_URL": chroma_server}
    other = subprocess.run([sys.executable, "-m", "tests.child", "cli", "ingest", "--json"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert json.loads(other.stdout)["added"] == 1, other.stderr
    answer = reader.ask(NEW_QUESTION)
    assert answer.citations and answer.citations[0].doc_id == "plasmapheresis.md"
    assert answer.hits[0].dense_rank == 1 and answer.hits[0].lexical_rank == 1
