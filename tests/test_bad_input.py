"""Bad input: a corpus of awkward files, generated here. Every file ends either ingested or
listed with a reason, nothing crashes, and nothing indexed before is lost."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from pypdf import PdfWriter

from app.config import Settings
from app.service import Citewise
from tests.child import index_health
from tests.fakes import HashingEmbedder

LEMS = "004_5e456227b6f932b4.txt"
CASE = "000_ca9eb5d6de5c83e8.txt"
QUESTIONS = {
    LEMS: "The etiology of paraneoplastic muscle weakness is complex and multifactorial.",
    CASE: "Paraneoplastic syndrome is the condition caused due to the presence of cancer cells "
          "in the body.",
}
HUGE_MB = 50
SENTENCE = ("Lambert-Eaton myasthenic syndrome is an autoimmune disorder of the neuromuscular "
            "junction. ")
# file -> what must become of it: "added", or (list, words the reason must contain)
EXPECTED: dict[str, str | tuple[str, str]] = {
    "empty.txt": ("failed", "file is empty"),
    "whitespace.md": ("failed", "file is empty"),
    "binary.txt": ("failed", "binary"),
    "latin1.txt": "added",
    "utf16.txt": "added",
    "bad-bytes.txt": "added",
    "truncated.pdf": ("failed", "PDF"),
    "page.html": "added",
    "huge.txt": ("failed", "over the limit of 20 MB of text per document"),
    ".DS_Store": ("skipped", "hidden file"),
    "outside-link.txt": ("skipped", "symlink pointing outside the folder"),
    "broken-link.txt": ("skipped", "broken symlink"),
    "copy-of-lems.txt": "added",
    "unreadable.txt": ("failed", "cannot read file: Permission denied"),
    LEMS: ("failed", "binary"),  # was fine, now broken: keeps what was indexed
    CASE: "unchanged",
}


def pdf_bytes() -> bytes:
    writer = PdfWriter()
    for _ in range(3):
        writer.add_blank_page(width=200, height=200)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def write_bad_corpus(sources: Path, outside: Path) -> None:
    (sources / "empty.txt").write_bytes(b"")
    (sources / "whitespace.md").write_text("   \n\t\n  \n")
    (sources / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(256)) * 40)
    (sources / "latin1.txt").write_bytes(
        "Café-au-lait spots and a naïve réaction: the patient's thymoma was résected.\n"
        .encode("latin-1"))
    (sources / "utf16.txt").write_bytes(
        "Ocular myasthenia affects the eyelids — ptosis and diplopia.\n".encode("utf-16"))
    (sources / "bad-bytes.txt").write_bytes(
        b"Rituximab depletes B cells \xff\xfe in refractory myasthenia gravis.\n")
    (sources / "truncated.pdf").write_bytes(pdf_bytes()[:300])
    (sources / "page.html").write_text(
        "<html><head><title>Thymectomy</title><style>p { color: red }</style>"
        "<script>var tracking = 'SCRIPTVAR';</script></head><body><h1>Thymectomy</h1>"
        "<p>Thymectomy improves outcomes in generalised myasthenia gravis.</p>"
        "<script>document.write('SCRIPTVAR')</script></body></html>")
    with (sources / "huge.txt").open("w") as f:
        block = SENTENCE * 10 + "\n"
        for _ in range(HUGE_MB * 1_000_000 // len(block) + 1):
            f.write(block)
    (sources / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + b"\x00" * 64)
    (outside / "secret.txt").write_text("Outside the sources folder: never ingested.\n")
    (sources / "outside-link.txt").symlink_to(outside / "secret.txt")
    (sources / "broken-link.txt").symlink_to(outside / "gone.txt")
    shutil.copy(sources / LEMS, sources / "copy-of-lems.txt")
    (sources / "unreadable.txt").write_text("Nobody may read this file.\n")
    (sources / "unreadable.txt").chmod(0)
    (sources / LEMS).write_bytes(b"\x00\x01\x02" * 1000)


@pytest.fixture
def unreadable_is_unreadable(sources: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """chmod 000 denies reading, except to root (tests often run as root): there the
    operating system's refusal is simulated, at the same call."""
    path = sources / "unreadable.txt"
    if not os.access(path, os.R_OK):
        return
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)


def test_every_bad_file_is_ingested_or_listed_and_nothing_is_lost(
        tmp_path: Path, sources: Path, settings: Settings, embedder: HashingEmbedder,
        request: pytest.FixtureRequest) -> None:
    service = Citewise(settings, embedder)
    assert len(service.ingest().added) == 2
    before = index_health(service, QUESTIONS)
    lems_chunks = service.index.manifest.chunk_ids(LEMS)

    outside = tmp_path / "outside"
    outside.mkdir()
    write_bad_corpus(sources, outside)
    request.getfixturevalue("unreadable_is_unreadable")
    summary = service.ingest()

    outcome: dict[str, list[tuple[str, str]]] = {}
    for name in summary.added:
        outcome.setdefault(name, []).append(("added", ""))
    for name in summary.unchanged:
        outcome.setdefault(name, []).append(("unchanged", ""))
    for kind, entries in (("failed", summary.failed), ("skipped", summary.skipped)):
        for path, reason in entries:
            outcome.setdefault(Path(path).relative_to(sources).as_posix(), []).append(
                (kind, reason))
    every_file = {p.relative_to(sources).as_posix() for p in sources.rglob("*")}
    assert set(outcome) == every_file == set(EXPECTED)
    for name, expected in EXPECTED.items():
        assert len(outcome[name]) == 1, (name, outcome[name])  # listed exactly once
        kind, reason = outcome[name][0]
        if isinstance(expected, str):
            assert kind == expected, (name, outcome[name])
        else:
            assert kind == expected[0] and expected[1] in reason, (name, outcome[name])

    manifest = service.index.manifest
    assert "Café-au-lait" in (manifest.doc_text("latin1.txt") or "")
    assert "ptosis and diplopia" in (manifest.doc_text("utf16.txt") or "")
    assert "Rituximab depletes B cells" in (manifest.doc_text("bad-bytes.txt") or "")
    page = manifest.doc_text("page.html") or ""
    assert "Thymectomy improves outcomes" in page
    assert "SCRIPTVAR" not in page and "color" not in page
    # The broken file keeps its last good version; its copy is a document of its own.
    assert manifest.chunk_ids(LEMS) == lems_chunks
    after = index_health(service, {**QUESTIONS, "copy-of-lems.txt": QUESTIONS[LEMS]})
    assert after["chroma_equals_manifest"] and after["lexical_equals_manifest"]
    assert all(after["answered"].values()), after["answered"]
    assert set(before["docs"]) < set(after["docs"])
