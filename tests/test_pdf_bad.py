"""Bad PDFs: each is ingested or reported with its reason, the rest of the folder goes on,
and a PDF that fails on a re-ingest keeps what was indexed for it before."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Settings
from app.service import Citewise
from ingest.errors import LoadError
from ingest.loaders import load_document
from ingest.pdf import ENCRYPTED_REASON
from tests.fakes import HashingEmbedder
from tests.pdf_samples import (
    blank_pages,
    encrypted,
    make_pdf,
    many_pages,
    page_texts,
    with_broken_page,
    zero_pages,
)

QUESTION = "Which antibodies reduce the release of acetylcholine?"  # page 1 of make_pdf()


def _load(data: bytes):
    return load_document(Path("x.pdf"), data)


def test_encrypted_with_an_empty_password_is_read() -> None:
    loaded = _load(encrypted(make_pdf(), ""))
    assert loaded.pages == 4 and loaded.problems == ()
    assert "voltage-gated calcium channels" in " ".join(b.text for b in loaded.blocks)


def test_encrypted_with_a_password_is_refused_with_what_to_do() -> None:
    with pytest.raises(LoadError) as caught:
        _load(encrypted(make_pdf(), "secret"))
    assert str(caught.value) == ENCRYPTED_REASON
    assert "password" in str(caught.value) and "save a copy" in str(caught.value)


@pytest.mark.parametrize("keep", [0.2, 0.5, 0.9, 0.98])
def test_truncated_is_refused_with_the_reason(keep: float) -> None:
    data = make_pdf()
    with pytest.raises(LoadError, match="broken or unreadable PDF .*truncated or damaged"):
        _load(data[:int(len(data) * keep)])


def test_zero_pages_is_refused() -> None:
    with pytest.raises(LoadError, match="PDF has no pages"):
        _load(zero_pages())


def test_pages_without_text_are_refused_with_the_reason() -> None:
    with pytest.raises(LoadError, match="no text layer|no extractable text"):
        _load(blank_pages(3))


def test_a_page_that_makes_the_parser_raise_is_lost_alone() -> None:
    data = with_broken_page(make_pdf(), 1)
    loaded = _load(data)
    assert loaded.pages == 4
    assert loaded.problems == ("page 2 of 4 could not be read (NotImplementedError: "
                               "Unsupported filter /NoSuchFilter); the other pages were "
                               "ingested",)
    assert {b.page for b in loaded.blocks} == {1, 3, 4}
    text = " ".join(b.text for b in loaded.blocks)
    assert "Amifampridine" in text and "facilitation" not in text


def test_every_page_broken_is_refused() -> None:
    data = make_pdf([["Only page text here."]])
    with pytest.raises(LoadError, match="broken or unreadable PDF: no page could be read "
                                        r"\(NotImplementedError"):
        _load(with_broken_page(data, 0))


def test_a_500_page_pdf_is_read_with_every_page() -> None:
    data = many_pages(500)
    loaded = _load(data)
    assert loaded.pages == 500 and loaded.problems == ()
    assert [b.page for b in loaded.blocks if b.text.startswith("Section")] == \
        list(range(1, 501))


def _service(tmp_path: Path, folder: Path, **kw) -> Citewise:
    return Citewise(Settings(sources_dir=folder, index_dir=tmp_path / "index",
                             _env_file=None, **kw), HashingEmbedder())


def test_a_folder_of_bad_pdfs_reports_each_and_ingests_the_rest(tmp_path: Path) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    good = make_pdf()
    files = {"good.pdf": good, "empty-password.pdf": encrypted(good, ""),
             "password.pdf": encrypted(good, "secret"), "truncated.pdf": good[:len(good) // 2],
             "zero-pages.pdf": zero_pages(), "broken-page.pdf": with_broken_page(good, 1),
             "scanned.pdf": blank_pages(2), "long.pdf": many_pages(60)}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "notes.txt").write_text("Thymoma\n\nA thymoma is a tumour of the thymus.\n")
    summary = _service(tmp_path, folder).ingest()
    failed = {Path(p).name: reason for p, reason in summary.failed}
    assert sorted(summary.added) == ["broken-page.pdf", "empty-password.pdf", "good.pdf",
                                     "long.pdf", "notes.txt"]
    assert failed["password.pdf"] == ENCRYPTED_REASON
    assert failed["truncated.pdf"].startswith("broken or unreadable PDF (")
    assert failed["zero-pages.pdf"] == "PDF has no pages"
    assert "no text layer" in failed["scanned.pdf"] or "no extractable" in failed["scanned.pdf"]
    assert set(failed) == {"password.pdf", "truncated.pdf", "zero-pages.pdf", "scanned.pdf"}
    assert [(Path(p).name, r.split(" (")[0]) for p, r in summary.warnings] == \
        [("broken-page.pdf", "page 2 of 4 could not be read")]
    assert summary.pdf_pages == 4 + 4 + 4 + 60  # the PDFs ingested
    data = summary.to_json()
    assert data["warnings"][0]["path"].endswith("broken-page.pdf")
    assert data["pages"]["read"] == 72


def test_a_pdf_that_fails_on_a_single_file_reingest_keeps_its_indexed_version(
        tmp_path: Path) -> None:
    """`citewise ingest lems.pdf` after the file broke: the document keeps the version
    indexed before, whole, with its pages; the failure is listed with its reason. A file
    with one unreadable page is readable: it replaces the old version without that page,
    and the summary's warnings say which page was lost."""
    folder = tmp_path / "sources"
    folder.mkdir()
    pdf = folder / "lems.pdf"
    pdf.write_bytes(make_pdf())
    service = _service(tmp_path, folder)
    service.ingest()
    before = service.ask(QUESTION, mode="extractive")
    cited = [(c.quote, c.page) for c in before.citations if c.doc_id == "lems.pdf"]
    assert cited and all(page == 1 for _, page in cited)
    ids = service.index.manifest.chunk_ids("lems.pdf")

    data = make_pdf()
    for broken in (data[:len(data) // 2], encrypted(data, "secret"), zero_pages()):
        pdf.write_bytes(broken)
        summary = service.ingest([pdf])
        assert [Path(p).name for p, _ in summary.failed] == ["lems.pdf"]
        assert summary.updated == summary.removed == []
        assert service.index.manifest.chunk_ids("lems.pdf") == ids
        again = service.ask(QUESTION, mode="extractive")
        assert [(c.quote, c.page) for c in again.citations if c.doc_id == "lems.pdf"] == cited

    pdf.write_bytes(with_broken_page(make_pdf(), 1))
    summary = service.ingest([pdf])
    assert summary.updated == ["lems.pdf"] and summary.failed == []
    assert [r.split(" (")[0] for _, r in summary.warnings] == ["page 2 of 4 could not be read"]
    chunks = list(service.index.manifest.all_chunks())
    pages = {c.page for c in chunks} | {p for c in chunks for _, p in c.page_breaks}
    assert pages == {1, 3, 4}
    text = service.document_text("lems.pdf") or ""
    assert "facilitation" not in text and "Amifampridine" in text


def test_a_pdf_whose_reading_is_cut_off_halfway_keeps_its_indexed_version(
        tmp_path: Path) -> None:
    """Reading stopped partway (over CITEWISE_MAX_DOC_SECONDS: the reader child is killed
    mid-file): nothing of the half-read file is indexed, the old version stays."""
    folder = tmp_path / "sources"
    folder.mkdir()
    pdf = folder / "lems.pdf"
    pdf.write_bytes(make_pdf())
    _service(tmp_path, folder).ingest()
    service = _service(tmp_path, folder, max_doc_seconds=0.3)
    ids = service.index.manifest.chunk_ids("lems.pdf")
    pdf.write_bytes(many_pages(500))  # 2-3 s to read here: far over the budget
    summary = service.ingest([pdf])
    assert [Path(p).name for p, _ in summary.failed] == ["lems.pdf"]
    assert "took longer than 0.3 s to read" in summary.failed[0][1]
    assert service.index.manifest.chunk_ids("lems.pdf") == ids
    assert page_texts(make_pdf())[0].split(". ")[0] in (service.document_text("lems.pdf") or "")
