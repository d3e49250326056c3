"""One writer at a time, readers any time: the writer lock, and questions during an ingest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import app.service
from app.cli import cli
from app.config import Settings
from app.service import Citewise
from index.lock import IndexLock
from ingest.errors import IndexBusyError
from tests.conftest import ROOT
from tests.fakes import HashingEmbedder

BUSY = "index is being updated by another process (pid {pid})"
NEW_DOC = ("# Plasmapheresis\n\nPlasmapheresis removes pathogenic antibodies from the blood "
           "of patients with Lambert-Eaton myasthenic syndrome.\n")
NEW_QUESTION = ("Plasmapheresis removes pathogenic antibodies from the blood of patients with "
                "Lambert-Eaton myasthenic syndrome.")


def child(settings: Settings, *args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "CITEWISE_SOURCES_DIR": str(settings.sources_dir),
           "CITEWISE_INDEX_DIR": str(settings.index_dir)}
    return subprocess.Popen([sys.executable, "-m", "tests.child", *args], cwd=ROOT, env=env,
                            text=True, **kwargs)


@pytest.fixture
def holder(settings: Settings) -> Iterator[subprocess.Popen]:
    """Another process holding the writer lock; yields it once it has the lock."""
    proc = child(settings, "hold-lock", stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == str(proc.pid)
    yield proc
    proc.kill()
    proc.wait()


def test_lock_file_holds_the_pid_and_excludes_a_second_writer(tmp_path: Path) -> None:
    with IndexLock(tmp_path) as lock:
        assert lock.path.read_text().strip() == str(os.getpid())
        with pytest.raises(IndexBusyError, match=r"another ingest in this process \(pid"):
            IndexLock(tmp_path).acquire()
    with IndexLock(tmp_path):  # released: free again
        pass


def test_a_second_ingest_is_refused_with_the_pid(service: Citewise,
                                                 holder: subprocess.Popen) -> None:
    with pytest.raises(IndexBusyError, match=BUSY.format(pid=holder.pid).replace("(", r"\(")
                       .replace(")", r"\)")):
        service.ingest()


def test_the_cli_says_so_in_one_line(settings: Settings, holder: subprocess.Popen,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.service, "default_embedder", lambda s: HashingEmbedder())
    monkeypatch.setenv("CITEWISE_SOURCES_DIR", str(settings.sources_dir))
    monkeypatch.setenv("CITEWISE_INDEX_DIR", str(settings.index_dir))
    result = CliRunner().invoke(cli, ["ingest"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and BUSY.format(pid=holder.pid) in lines[0]
    assert "Traceback" not in result.output


def test_a_lock_left_by_a_killed_process_is_taken_over(service: Citewise,
                                                       holder: subprocess.Popen) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    lock_file = service.settings.index_dir / IndexLock.FILENAME
    assert lock_file.read_text().strip() == str(holder.pid)  # the dead pid is still there
    assert len(service.ingest().added) == 2


class GatedEmbedder(HashingEmbedder):
    """Holds an ingest at its first embedding call once `hold()` was called (questions go
    through `embed_query` and never wait)."""

    def __init__(self) -> None:
        super().__init__()
        self.reached = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def hold(self) -> None:
        self.release.clear()

    def embed_documents(self, texts, progress=None):
        self.reached.set()
        assert self.release.wait(60), "the test never let the ingest go on"
        return super().embed_documents(texts, progress)


def test_questions_keep_working_during_an_ingest_and_see_its_documents(
        settings: Settings, sources: Path) -> None:
    embedder = GatedEmbedder()
    service = Citewise(settings, embedder)
    service.ingest()
    before = service.ask("voltage-gated calcium channels LEMS")
    assert not before.abstained
    (sources / "plasmapheresis.md").write_text(NEW_DOC)

    embedder.hold()
    embedder.reached.clear()
    result: list = []
    writer = threading.Thread(target=lambda: result.append(service.ingest()))
    writer.start()
    try:
        assert embedder.reached.wait(60), "the ingest never reached the embedder"
        during = service.ask("voltage-gated calcium channels LEMS")
        assert during.text == before.text
        assert "plasmapheresis.md" not in {h.chunk.doc_id for h in
                                           service.ask(NEW_QUESTION).hits}
        with pytest.raises(IndexBusyError):  # and a second writer in this process is refused
            service.ingest()
    finally:
        embedder.release.set()
        writer.join(60)
    assert result and result[0].added == ["plasmapheresis.md"]
    answer = service.ask(NEW_QUESTION)
    assert not answer.abstained
    assert answer.citations[0].doc_id == "plasmapheresis.md"
    assert answer.hits[0].lexical_rank is not None  # the new BM25 index is in use
