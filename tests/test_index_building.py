"""Issue 19, defect 7: a question asked while the first build of an index runs says "the
index is being built (N of M documents so far)", in the service, the CLI and its JSON.
Only the first build (or a --rebuild): an update keeps every document answerable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import app.service
import index.sync
from app.cli import cli
from app.service import Citewise
from index.store import BUILDING, build_progress, write_build_progress
from ingest.errors import IndexMissingError
from tests.conftest import QUESTION
from tests.fakes import HashingEmbedder


@pytest.fixture
def one_doc_per_round(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each document is stored (and counted) on its own, as large ones are."""
    monkeypatch.setattr(index.sync, "STORE_BATCH", 1)


def _during_build(monkeypatch: pytest.MonkeyPatch, when_done: int, action) -> list:
    """Run `action()` inside the ingest, once `when_done` documents are indexed."""
    seen: list = []
    real = index.sync.write_build_progress

    def record(index_dir: Path, done: int, total: int) -> None:
        real(index_dir, done, total)
        if done == when_done and not seen:
            try:
                seen.append(action())
            except Exception as exc:  # noqa: BLE001  what the question got
                seen.append(exc)

    monkeypatch.setattr(index.sync, "write_build_progress", record)
    return seen


def test_a_question_during_the_first_build_says_how_far_it_got(
        service: Citewise, monkeypatch: pytest.MonkeyPatch, one_doc_per_round) -> None:
    seen = _during_build(monkeypatch, 1, lambda: service.ask(QUESTION))
    service.ingest()
    [answer] = seen
    assert answer.note.startswith("The index is being built (1 of 2 documents so far)")
    # Done: the record is gone and answers carry no note.
    assert not (service.settings.index_dir / BUILDING).exists()
    assert build_progress(service.settings.index_dir) is None
    assert service.ask(QUESTION).note == ""


def test_before_the_first_document_is_in_the_question_is_told_to_wait(
        service: Citewise, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _during_build(monkeypatch, 0, lambda: service.ask(QUESTION))
    service.ingest()
    [error] = seen
    assert isinstance(error, IndexMissingError)
    assert "The index is being built (0 of 2 documents so far" in str(error)


def test_an_update_of_an_existing_index_records_no_build(
        service: Citewise, monkeypatch: pytest.MonkeyPatch, sources: Path) -> None:
    service.ingest()
    seen = _during_build(monkeypatch, 0, lambda: "called")
    (sources / "new.txt").write_text("Myasthenia gravis is an autoimmune disease.")
    assert service.ingest().added == ["new.txt"]
    assert seen == []


def test_a_rebuild_is_a_first_build(service: Citewise, monkeypatch: pytest.MonkeyPatch,
                                    one_doc_per_round) -> None:
    service.ingest()
    seen = _during_build(monkeypatch, 1, lambda: build_progress(service.settings.index_dir))
    service.ingest(rebuild=True)
    assert seen == [(1, 2)]


def test_a_record_left_by_a_killed_ingest_is_ignored(service: Citewise) -> None:
    service.ingest()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    (service.settings.index_dir / BUILDING).write_text(
        json.dumps({"pid": int(dead.stdout), "done": 1, "total": 2}))
    assert build_progress(service.settings.index_dir) is None
    assert service.ask(QUESTION).note == ""


def test_the_cli_shows_the_note(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                sources: Path) -> None:
    """Another process is building the index (here: a record with a live pid)."""
    monkeypatch.setattr(app.service, "default_embedder", lambda settings: HashingEmbedder())
    monkeypatch.setenv("CITEWISE_SOURCES_DIR", str(sources))
    monkeypatch.setenv("CITEWISE_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest"]).exit_code == 0
    write_build_progress(tmp_path / "index", 1, 290)
    text = runner.invoke(cli, ["ask", QUESTION]).output
    assert text.startswith("The index is being built (1 of 290 documents so far)")
    data = json.loads(runner.invoke(cli, ["ask", QUESTION, "--json"]).output)
    assert data["note"].startswith("The index is being built (1 of 290 documents so far)")
