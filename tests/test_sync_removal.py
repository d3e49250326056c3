"""Issue 19, defect 4: a full sync (no PATHs) brings the index in line with what exists:
documents whose file is gone are removed wherever they were, documents of an earlier
sources folder are removed, and files ingested by PATH from outside the folder are kept
while they exist. The summary says which and why."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import app.service
from app.cli import cli
from app.config import Settings
from app.service import Citewise
from index.lexical import BM25Index
from tests.fakes import HashingEmbedder

OUTSIDE_TEXT = ("Neuromyotonia is a disorder of peripheral nerve hyperexcitability. It causes "
                "muscle twitching and cramps that continue during sleep.")


def _doc_ids(service: Citewise) -> set[str]:
    return set(service.index.manifest.docs())


def _consistent(service: Citewise) -> None:
    """Manifest, vectors and BM25 hold the same chunks."""
    index_dir = service.settings.index_dir
    wanted = service.index.manifest.all_chunk_ids()
    assert set(BM25Index.stored_ids(index_dir) or []) == wanted
    assert service.index.vectors.chunk_ids() == wanted


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    path = folder / "neuromyotonia.txt"
    path.write_text(OUTSIDE_TEXT)
    return path


def test_a_deleted_file_ingested_from_outside_is_removed_by_a_full_sync(
        service: Citewise, outside: Path) -> None:
    service.ingest()
    assert service.ingest([outside]).added == [outside.resolve().as_posix()]
    kept = service.ingest()  # the file exists: kept, and said so
    assert kept.removed == [] and [p for p, _ in kept.kept_outside] == [str(outside)]
    assert "ingested by path" in kept.kept_outside[0][1]
    assert outside.resolve().as_posix() in _doc_ids(service)

    outside.unlink()
    summary = service.ingest()
    assert summary.removed == [outside.resolve().as_posix()]  # old code: removed 0
    assert summary.removed_docs == [(str(outside), "its file no longer exists")]
    assert outside.resolve().as_posix() not in _doc_ids(service)
    assert len(_doc_ids(service)) == 2
    _consistent(service)


def test_documents_of_an_earlier_sources_folder_are_removed(
        tmp_path: Path, sources: Path, embedder: HashingEmbedder) -> None:
    index_dir = tmp_path / "index"
    first = Citewise(Settings(sources_dir=sources, index_dir=index_dir, _env_file=None),
                     embedder)
    old = sorted(first.ingest().added)
    assert len(old) == 2
    first.index.close()

    new_sources = tmp_path / "new-sources"
    new_sources.mkdir()
    (new_sources / "neuromyotonia.txt").write_text(OUTSIDE_TEXT)
    second = Citewise(Settings(sources_dir=new_sources, index_dir=index_dir,
                               _env_file=None), embedder)
    summary = second.ingest()
    assert summary.added == ["neuromyotonia.txt"]
    assert sorted(summary.removed) == old  # old code: both stayed (3 documents for 1 file)
    assert all("earlier sources folder" in why for _, why in summary.removed_docs)
    assert sorted(p for p, _ in summary.removed_docs) == sorted(
        str(sources / name) for name in old)
    assert _doc_ids(second) == {"neuromyotonia.txt"}
    _consistent(second)


def test_a_sync_of_paths_leaves_documents_elsewhere_alone(service: Citewise,
                                                          outside: Path) -> None:
    service.ingest()
    service.ingest([outside])
    lems = next(p for p in service.settings.sources_dir.iterdir() if p.suffix == ".txt")
    lems.unlink()  # gone, but not under the PATH synced next
    summary = service.ingest([outside])
    assert summary.removed == [] and summary.kept_outside == []
    assert len(_doc_ids(service)) == 3


def test_the_cli_lists_removed_and_kept_documents(monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path, sources: Path,
                                                  outside: Path) -> None:
    monkeypatch.setattr(app.service, "default_embedder", lambda settings: HashingEmbedder())
    monkeypatch.setenv("CITEWISE_SOURCES_DIR", str(sources))
    monkeypatch.setenv("CITEWISE_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.chdir(tmp_path)

    def run(*args: str):
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run("ingest")
    run("ingest", str(outside))
    text = run("ingest")
    assert f"  kept:    {outside}: ingested by path" in text
    gone = next(p for p in sources.iterdir() if p.suffix == ".txt")
    shutil.move(gone, tmp_path / gone.name)
    outside.unlink()
    data = json.loads(run("ingest", "--json"))
    assert data["removed"] == 2
    assert sorted(data["removed_docs"], key=lambda d: d["path"]) == sorted(
        [{"path": str(gone), "reason": "its file no longer exists"},
         {"path": str(outside), "reason": "its file no longer exists"}],
        key=lambda d: d["path"])
    assert data["kept_outside"] == []


def test_ingest_help_says_what_a_full_sync_does() -> None:
    text = " ".join(CliRunner().invoke(cli, ["ingest", "--help"]).output.split())
    assert "file is gone is removed wherever it was" in text
    assert "earlier sources folder" in text and "stays while it exists" in text
