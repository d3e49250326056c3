"""A sync of an unchanged folder reads no file (no reader child) and opens no Chroma
(`index.unchanged`), and every condition that must still force work does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import index.sync
from app.config import Settings
from app.service import Citewise
from index.lexical import BM25Index
from index.unchanged import LAST_SYNC
from tests.conftest import ROOT
from tests.fakes import HashingEmbedder
from tests.pdf_samples import make_pdf

LEMS = "004_5e456227b6f932b4.txt"
CASE = "000_ca9eb5d6de5c83e8.txt"
QUESTION = "What causes paraneoplastic muscle weakness?"


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One item each time a sync starts the reader child."""
    started: list[int] = []
    real = index.sync.Worker

    class Counting(real):  # type: ignore[misc, valid-type]
        def __enter__(self):
            started.append(1)
            return super().__enter__()

    monkeypatch.setattr(index.sync, "Worker", Counting)
    return started


def _answer(service: Citewise) -> dict:
    out = service.ask(QUESTION, mode="extractive").to_json()
    out.pop("timings", None)
    return out


def test_second_ingest_of_an_unchanged_folder_reads_nothing(service: Citewise,
                                                            reads: list[int]) -> None:
    first = service.ingest()
    before = _answer(service)
    assert len(reads) == 1
    again = service.ingest()
    assert len(reads) == 1  # the reader child was not started
    assert sorted(again.unchanged) == sorted(first.added) == [CASE, LEMS]
    assert (again.chunks_embedded, again.chunks_total) == (0, first.chunks_total)
    assert _answer(service) == before


def test_unchanged_ingest_in_a_fresh_process_imports_no_chromadb(settings: Settings) -> None:
    script = (
        "import json, sys\n"
        "import app.service, index.sync\n"
        "from app.cli import cli\n"
        "from tests.fakes import HashingEmbedder\n"
        "app.service.default_embedder = lambda s: HashingEmbedder()\n"
        "started = []\n"
        "class Counting(index.sync.Worker):\n"
        "    def __enter__(self):\n"
        "        started.append(1)\n"
        "        return super().__enter__()\n"
        "index.sync.Worker = Counting\n"
        "cli.main(['ingest', '--json'], prog_name='citewise', standalone_mode=False)\n"
        "print(json.dumps({'chromadb': 'chromadb' in sys.modules, 'reads': len(started)}))\n")
    env = {**os.environ, "CITEWISE_SOURCES_DIR": str(settings.sources_dir),
           "CITEWISE_INDEX_DIR": str(settings.index_dir), "PYTHONPATH": str(ROOT)}

    def run() -> tuple[dict, dict]:
        out = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True,
                             capture_output=True, text=True, timeout=120).stdout
        summary, probe = (json.loads(line) for line in out.strip().splitlines()[-2:])
        return summary, probe

    summary, probe = run()
    assert summary["added"] == 2 and probe == {"chromadb": True, "reads": 1}
    summary, probe = run()
    assert summary["unchanged"] == 2 and summary["chunks_embedded"] == 0
    assert probe == {"chromadb": False, "reads": 0}


def test_an_edited_added_or_removed_file_makes_the_sync_read_again(
        service: Citewise, sources: Path, reads: list[int]) -> None:
    service.ingest()
    with (sources / LEMS).open("a") as f:
        f.write("\nPlasmapheresis removes pathogenic antibodies from the blood.\n")
    assert service.ingest().updated == [LEMS] and len(reads) == 2
    (sources / "new.txt").write_text("Amifampridine improves muscle strength in LEMS.\n")
    assert service.ingest().added == ["new.txt"] and len(reads) == 3
    (sources / "new.txt").unlink()
    assert service.ingest().removed == ["new.txt"] and len(reads) == 4
    assert service.ingest().unchanged and len(reads) == 4  # and then it skips again


def test_other_chunker_or_ocr_settings_make_the_sync_read_again(
        settings: Settings, embedder: HashingEmbedder, reads: list[int]) -> None:
    Citewise(settings, embedder).ingest()
    rechunked = Citewise(settings.model_copy(update={"chunk_tokens": 100}), embedder).ingest()
    assert len(reads) == 2 and sorted(rechunked.updated) == [CASE, LEMS]
    no_ocr = Citewise(settings.model_copy(update={"chunk_tokens": 100, "ocr": "off"}),
                      embedder).ingest()
    assert len(reads) == 3 and sorted(no_ocr.unchanged) == [CASE, LEMS]


def test_an_interrupted_last_sync_makes_the_sync_read_again(service: Citewise,
                                                            reads: list[int]) -> None:
    service.ingest()
    service.index.manifest.set_meta(index.sync.SYNC_STATE, "running")  # as a kill leaves it
    assert sorted(service.ingest().unchanged) == [CASE, LEMS] and len(reads) == 2


def test_missing_vectors_make_the_sync_read_and_embed_again(service: Citewise,
                                                            reads: list[int]) -> None:
    service.ingest()
    ids = service.index.manifest.chunk_ids(LEMS)
    service.index.vectors.delete(ids[:2])
    again = service.ingest()
    assert len(reads) == 2 and again.updated == [LEMS] and again.chunks_embedded > 0
    assert set(ids) <= service.index.vectors.chunk_ids()


def test_a_file_that_failed_last_time_makes_the_sync_read_again(
        service: Citewise, sources: Path, reads: list[int]) -> None:
    (sources / "bad.txt").write_bytes(b"\x00\x01\x02" * 1000)
    assert [p for p, _ in service.ingest().failed] == [str(sources / "bad.txt")]
    again = service.ingest()
    assert len(reads) == 2 and [p for p, _ in again.failed] == [str(sources / "bad.txt")]
    (sources / "bad.txt").unlink()
    service.ingest()
    assert len(reads) == 3
    service.ingest()
    assert len(reads) == 3


def test_a_pdf_without_pages_makes_the_sync_read_again(service: Citewise, sources: Path,
                                                       reads: list[int]) -> None:
    (sources / "lems.pdf").write_bytes(make_pdf())
    service.ingest()
    manifest = service.index.manifest
    manifest._db.execute("UPDATE chunks SET page = NULL WHERE doc_id = 'lems.pdf'")
    assert manifest.lacks_pages("lems.pdf")
    assert service.ingest().updated == ["lems.pdf"] and len(reads) == 2
    assert not manifest.lacks_pages("lems.pdf")


def test_a_lost_bm25_index_is_rebuilt_without_reading(service: Citewise, settings: Settings,
                                                       reads: list[int]) -> None:
    service.ingest()
    wanted = service.index.manifest.all_chunk_ids()
    (settings.index_dir / BM25Index.DIRNAME / "ids.json").unlink()
    assert service.ingest().unchanged and len(reads) == 1
    assert set(BM25Index.stored_ids(settings.index_dir) or []) == wanted


def test_a_sync_of_paths_does_not_skip_and_a_full_one_after_it_does(
        service: Citewise, sources: Path, reads: list[int]) -> None:
    service.ingest()
    assert service.ingest([sources / LEMS]).unchanged == [LEMS] and len(reads) == 2
    assert service.index.manifest.get_meta(LAST_SYNC)
    service.ingest()
    assert len(reads) == 2
