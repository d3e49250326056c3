"""Issue 19, defect 2: a full disk is one sentence, not a traceback, wherever it happens
(Chroma, the manifest's SQLite, the BM25 files, the model cache), and the index it leaves
is completed by the next ingest.

Two ways: a real 3 MB tmpfs (the tests run as root; skipped where mounting is not
allowed), and the errors injected as each library raises them.
"""

from __future__ import annotations

import errno
import json
import os
import random
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import app.service
from app.cli import cli
from app.config import Settings
from app.service import Citewise
from app.web.documents import Documents
from index.lexical import BM25Index
from index.manifest import Manifest
from index.vectors import ChromaVectors
from ingest.errors import DiskFullError, disk_full_guard, is_disk_full
from tests.conftest import ROOT
from tests.fakes import HashingEmbedder

CHROMA_FULL = ("Query error: Database error: error returned from database: (code: 13) "
               "database or disk is full")


def _message(folder: Path) -> str:
    return (f"The disk holding {folder} is full: free space and run `citewise ingest` again; "
            "nothing indexed before was lost.")


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs, unmounted afterwards; the test is skipped if mounting is not allowed."""
    folder = tmp_path / "small-disk"
    folder.mkdir()
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(folder)],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"cannot mount a tmpfs to fill a disk: {exc}")
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs to fill a disk (needs root or CAP_SYS_ADMIN): "
                    + done.stderr.strip())
    try:
        yield folder
    finally:
        # Lazy: Chroma keeps the clients it made (and their files) open for the process.
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)


def _many_sources(folder: Path, n: int = 60) -> Path:
    """About 1.5 MB of text whose chunks are all different: more than 3 MB of index."""
    rng = random.Random(19)
    words = ("muscle weakness antibody calcium channel tumour patient nerve clinical study "
             "serum dose week onset").split()
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        paragraphs = [" ".join(rng.choice(words) for _ in range(60)) + f" marker{i}x{j}."
                      for j in range(40)]
        (folder / f"doc{i:02d}.txt").write_text("\n\n".join(paragraphs))
    return folder


@pytest.fixture
def fake_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.service, "default_embedder", lambda settings: HashingEmbedder())


# -- a real full disk ---------------------------------------------------------------------------
def _child_ingest(sources: Path, index_dir: Path, cwd: Path, *args: str):
    """`citewise ingest` in its own process, as a user runs it (fake embedder). Its own
    process too because Chroma's embedded store can stay wedged inside the process whose
    write hit the full disk: a second upsert there waited for minutes."""
    env = {**os.environ, "CITEWISE_SOURCES_DIR": str(sources),
           "CITEWISE_INDEX_DIR": str(index_dir)}
    return subprocess.run([sys.executable, "-m", "tests.child", "cli", "ingest", *args],
                          cwd=cwd, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=300)


def test_full_tmpfs_is_one_line_and_the_next_ingest_completes(tmpfs: Path,
                                                              tmp_path: Path) -> None:
    sources = _many_sources(tmp_path / "sources")
    index_dir = tmpfs / "index"

    done = _child_ingest(sources, index_dir, tmp_path)
    assert done.returncode == 1, done.stderr
    # One line, no traceback (above it only the progress bars, on stderr too).
    assert done.stderr.strip().splitlines()[-1] == f"Error: {_message(index_dir)}"
    assert "Traceback" not in done.stderr
    assert done.stdout == ""

    # Room again: the next ingest completes the index.
    subprocess.run(["mount", "-o", "remount,size=200m", str(tmpfs)], check=True, timeout=30)
    done = _child_ingest(sources, index_dir, tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["failed"] == []
    service = Citewise(Settings(sources_dir=sources, index_dir=index_dir, _env_file=None),
                       HashingEmbedder())
    manifest = service.index.manifest
    assert len(manifest.docs()) == 60
    assert set(BM25Index.stored_ids(index_dir) or []) == manifest.all_chunk_ids()
    assert manifest.all_chunk_ids() <= service.index.vectors.chunk_ids()
    service.index.close()


def test_full_model_cache_is_one_line_and_leaves_no_part_file(
        tmpfs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.llm import model_file

    parts = []
    for n in range(2):  # 4 MB in all, on a 3 MB disk
        part = tmp_path / f"part{n:02d}.bin"
        part.write_bytes(bytes([n]) * 2_000_000)
        parts.append(part)
    monkeypatch.setattr(model_file, "part_paths", lambda: parts)
    cache = tmpfs / "models"
    with pytest.raises(DiskFullError, match=f"The disk holding {cache} is full: free space "
                                            "and try again .*CITEWISE_MODEL_CACHE_DIR"):
        model_file.default_model_path(cache)
    assert list(cache.iterdir()) == []  # the half-joined file went, and its space with it


# -- injected: each library's own way of saying so ------------------------------------------
def _chroma_full(*args, **kwargs):
    from chromadb.errors import InternalError

    raise InternalError(CHROMA_FULL)


def _sqlite_full(*args, **kwargs):
    raise sqlite3.OperationalError("database or disk is full")


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _edquot(*args, **kwargs):
    raise OSError(errno.EDQUOT, "Disk quota exceeded")


WRITES = [
    pytest.param(ChromaVectors, "add", _chroma_full, id="chroma-add"),
    pytest.param(Manifest, "put_doc", _sqlite_full, id="manifest-put"),
    pytest.param(BM25Index, "save", _enospc, id="bm25-save"),
    pytest.param(BM25Index, "save", _edquot, id="bm25-quota"),
]


@pytest.mark.parametrize(("owner", "method", "failure"), WRITES)
def test_injected_full_disk_is_one_line_from_the_cli(
        owner: type, method: str, failure, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        sources: Path, fake_embedder) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CITEWISE_SOURCES_DIR", str(sources))
    monkeypatch.setenv("CITEWISE_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setattr(owner, method, failure)
    result = CliRunner().invoke(cli, ["ingest"])
    assert result.exit_code == 1
    assert result.stdout == ""  # the message is one line on stderr, after the progress bars
    assert result.stderr.strip().splitlines()[-1] == f"Error: {_message(tmp_path / 'index')}"
    assert "Traceback" not in result.output
    monkeypatch.undo()  # room again
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(app.service, "default_embedder", lambda settings: HashingEmbedder())
    monkeypatch.setenv("CITEWISE_SOURCES_DIR", str(sources))
    monkeypatch.setenv("CITEWISE_INDEX_DIR", str(tmp_path / "index"))
    result = CliRunner().invoke(cli, ["ingest", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["added"] + summary["unchanged"] == 2  # done before the disk filled, or now
    manifest = Manifest(tmp_path / "index")
    assert set(BM25Index.stored_ids(tmp_path / "index") or []) == manifest.all_chunk_ids()
    manifest.close()


def test_a_failed_bm25_save_gives_its_space_back(service: Citewise,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    real_save = BM25Index.save

    def save_then_fill(self, index_dir: Path) -> None:
        (index_dir / "bm25.tmp").mkdir()
        (index_dir / "bm25.tmp" / "half.npy").write_bytes(b"x" * 1000)
        _enospc()

    monkeypatch.setattr(BM25Index, "save", save_then_fill)
    with pytest.raises(DiskFullError):
        service.ingest()
    assert not (service.settings.index_dir / "bm25.tmp").exists()
    monkeypatch.setattr(BM25Index, "save", real_save)
    service.ingest()  # rebuilds the BM25 index the manifest no longer matches
    index_dir = service.settings.index_dir
    assert set(BM25Index.stored_ids(index_dir) or []) == service.index.manifest.all_chunk_ids()


def test_the_web_ui_says_the_same_sentence(service: Citewise, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    docs = Documents(service)
    monkeypatch.setattr(ChromaVectors, "add", _chroma_full)
    outcome = docs.reingest()
    assert not outcome.ok and outcome.message == _message(service.settings.index_dir)

    upload = tmp_path / "new.txt"
    upload.write_text("Myasthenia gravis is an autoimmune disease of the junction.")
    outcome = docs.upload([upload])
    assert not outcome.ok and outcome.message == _message(service.settings.index_dir)
    assert not (service.settings.sources_dir / "new.txt").exists()  # the folder as it was


def test_a_watch_reports_a_full_disk_and_goes_on(service: Citewise,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A later sync of `ingest --watch` that hits a full disk is reported, not fatal."""
    import threading

    from index.watch import StopEvent

    stop: StopEvent = threading.Event()
    errors: list[Exception] = []
    syncs: list[object] = []

    def on_sync(summary) -> None:
        syncs.append(summary)
        if len(syncs) == 1:  # the first sync went through: fill the disk, touch a file
            monkeypatch.setattr(ChromaVectors, "add", _chroma_full)
            (service.settings.sources_dir / "new.txt").write_text("A new passage here.")

    def on_error(exc: Exception) -> None:
        errors.append(exc)
        stop.set()

    worker = threading.Thread(target=service.watch, args=(on_sync,),
                              kwargs={"on_error": on_error, "debounce_ms": 100,
                                      "stop_event": stop}, daemon=True)
    worker.start()
    worker.join(120)
    stop.set()
    assert not worker.is_alive()
    assert len(syncs) == 1 and [type(e) for e in errors] == [DiskFullError]


@pytest.mark.parametrize("exc", [
    OSError(errno.ENOSPC, "No space left on device"),
    OSError(errno.EDQUOT, "Disk quota exceeded"),
    sqlite3.OperationalError("database or disk is full"),
    RuntimeError("Error in compaction: No space left on device (os error 28)"),
])
def test_every_form_of_a_full_disk_is_recognised(exc: Exception) -> None:
    assert is_disk_full(exc)
    with pytest.raises(DiskFullError, match="The disk holding /idx is full"), \
            disk_full_guard(Path("/idx")):
        raise exc


def test_a_wrapped_full_disk_is_recognised_and_other_errors_pass() -> None:
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise ValueError("could not save") from inner
    except ValueError as outer:
        assert is_disk_full(outer)
    for other in (OSError(errno.EACCES, "Permission denied"),
                  sqlite3.OperationalError("database is locked"), ValueError("bad")):
        assert not is_disk_full(other)
        with pytest.raises(type(other)), disk_full_guard(Path("/idx")):
            raise other


def test_an_upload_onto_a_full_sources_disk_says_so(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from app.web.documents import save_uploads

    upload = tmp_path / "new.txt"
    upload.write_text("Myasthenia gravis is an autoimmune disease of the junction.")
    monkeypatch.setattr(shutil, "copyfile", _enospc)
    out = save_uploads([upload], tmp_path / "sources", 10_000_000)
    assert out.saved == [] and out.errors == [
        ("new.txt", f"The disk holding {tmp_path / 'sources'} is full: free space and upload "
                    "it again.")]
    assert list((tmp_path / "sources").iterdir()) == []
