"""Scanned PDFs (ingest/ocr.py): pages rendered here from the default sources' text with
Pillow into an image-only PDF are read by OCR (Debian's tesseract), offline, at character
accuracy 0.97 or better; the ingest counts them, and a question is answered with a
citation into the OCR'd text. With CITEWISE_OCR=off such a PDF fails with its reason.

The OCR tests are marked slow (tesseract takes ~2-3 s a page here); they run in CI.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.answer.types import Citation
from app.config import Settings
from app.service import Citewise
from app.web.render import sources_card
from bench.ocr import char_accuracy, image_pdf, levenshtein, render_pages, source_text
from ingest import ocr
from ingest.errors import LoadError
from ingest.pdf import load_pdf
from tests.fakes import HashingEmbedder

PAGES = 3
QUESTION = "How many patients with small cell lung cancer were suffering from peripheral " \
           "neuropathy?"


@pytest.fixture(scope="module")
def scan() -> tuple[bytes, list[str]]:
    """An image-only PDF of the first 3 pages of the default sources' text (slightly
    tilted, blurred and specked, as a scanner gives them) and each page's text."""
    images, references = render_pages(source_text(), PAGES)
    assert len(images) == PAGES
    return image_pdf(images), references


def _scanned_folder(tmp_path: Path, data: bytes) -> Settings:
    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "scanned.pdf").write_bytes(data)
    return Settings(sources_dir=folder, index_dir=tmp_path / "index", _env_file=None,
                    answer_mode="extractive")


def test_edit_distance_and_accuracy() -> None:
    assert levenshtein("kitten", "sitting") == 3
    assert levenshtein("", "abc") == 3
    assert char_accuracy("a  b\nc", "a b c") == 1.0
    assert char_accuracy("abcd", "abxd") == 0.75
    assert char_accuracy("abc", "completely different and longer") == 0.0


def test_a_page_needs_ocr_when_its_text_layer_is_empty_or_almost() -> None:
    assert ocr.needs_ocr("")
    assert ocr.needs_ocr("  \n 12 \n")  # a scan with a page number stamped on it
    assert not ocr.needs_ocr("Lambert-Eaton myasthenic syndrome is an autoimmune disorder.")


def test_a_page_is_rendered_at_its_scans_resolution(scan) -> None:
    import pypdfium2 as pdfium

    images, _ = render_pages(source_text(), 1, dpi=150, noise=False)
    document = pdfium.PdfDocument(image_pdf(images, dpi=150))
    assert round(ocr.scan_dpi(document[0])) == 150
    assert round(ocr.scan_dpi(pdfium.PdfDocument(scan[0])[0])) == 200
    page = next(ocr.page_images(scan[0], [0]))
    assert abs(page.size[0] - images[0].size[0] * 200 / 150) <= 2


def test_the_scan_has_no_text_layer(scan) -> None:
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(scan[0]))
    assert len(reader.pages) == PAGES
    assert all(not (page.extract_text() or "").strip() for page in reader.pages)


def test_ocr_off_fails_the_scan_with_its_reason(tmp_path, scan, monkeypatch) -> None:
    monkeypatch.setenv("CITEWISE_OCR", "off")
    settings = _scanned_folder(tmp_path, scan[0])
    assert settings.ocr == "off"
    summary = Citewise(settings, HashingEmbedder()).ingest()
    assert summary.added == []
    assert [(Path(p).name, r) for p, r in summary.failed] == [
        ("scanned.pdf", "no text layer (OCR is off)")]
    assert summary.pages_ocr == 0
    with pytest.raises(LoadError, match=re.escape(ocr.OFF_REASON)):
        load_pdf(scan[0], ocr=False)


def paged_job(pages: int, renew: bool) -> str:
    """Runs in the reader child: `pages` "pages" of 0.8 s each, each announced as OCR is."""
    import time

    from ingest.worker import renew_budget

    for _ in range(pages):
        if renew:
            renew_budget()
        time.sleep(0.8)
    return "read"


def test_each_page_read_by_ocr_gets_its_own_time_budget() -> None:
    from ingest.worker import Worker

    # 5 pages of 0.8 s: over a 3 s budget for the file, within 3 s a page.
    with Worker(3.0, target="tests.test_ocr:paged_job") as worker:
        results = dict(worker.run([("renewed", (5, True)), ("not", (5, False))]))
    assert results["renewed"] == "read"
    assert isinstance(results["not"], LoadError) and "took longer than 3 s" in \
        str(results["not"])


def test_a_missing_tesseract_says_what_to_install(monkeypatch) -> None:
    import pytesseract

    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    with pytest.raises(LoadError, match="apt-get install tesseract-ocr"):
        ocr.Tesseract()


def test_the_cli_summary_counts_the_pages_read_by_ocr(capsys) -> None:
    from app.cli import _print_summary
    from index.sync import IngestSummary

    _print_summary(IngestSummary(pdf_pages=12, pages_ocr=3), as_json=False)
    assert "3 of 12 PDF pages had no text layer and were read by OCR." in capsys.readouterr().out
    _print_summary(IngestSummary(pdf_pages=12), as_json=False)
    assert "OCR" not in capsys.readouterr().out


def test_only_a_citation_of_an_ocr_page_says_read_by_ocr() -> None:
    plain = Citation(1, "c", "a.pdf", "A", (), "Some text.", 0, "Some text.", 0, 10, page=1)
    assert "read by OCR" not in sources_card(1, plain)
    assert plain.to_json()["ocr"] is False


def _mixed_pdf(scan_data: bytes) -> bytes:
    """Page 1 with a text layer (fpdf2), page 2 the scan's second page."""
    import io

    from fpdf import FPDF
    from pypdf import PdfReader, PdfWriter

    text = FPDF()
    text.add_page()
    text.set_font("helvetica", size=12)
    text.multi_cell(0, 8, "Lambert-Eaton myasthenic syndrome is an autoimmune disorder of "
                          "the neuromuscular junction.")
    writer = PdfWriter()
    writer.add_page(PdfReader(io.BytesIO(bytes(text.output()))).pages[0])
    writer.add_page(PdfReader(io.BytesIO(scan_data)).pages[1])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_with_ocr_off_a_scanned_page_of_a_text_pdf_is_named(scan) -> None:
    pdf = load_pdf(_mixed_pdf(scan[0]), ocr=False)
    assert (pdf.pages, pdf.ocr_pages) == (2, ())
    assert {b.page for b in pdf.blocks} == {1}
    assert pdf.problems == ("page 2 of 2 has no text layer and was not read (OCR is off)",)


@pytest.mark.slow
def test_only_the_page_without_a_text_layer_is_read_by_ocr(scan) -> None:
    pdf = load_pdf(_mixed_pdf(scan[0]), ocr=True)
    assert pdf.problems == ()
    assert (pdf.pages, pdf.ocr_pages) == (2, (2,))
    assert pdf.blocks[0].page == 1 and pdf.blocks[0].text.startswith("Lambert-Eaton")
    page_two = " ".join(b.text for b in pdf.blocks if b.page == 2)
    assert "small cell lung cancer" in page_two


@pytest.mark.slow
def test_rendered_pages_are_read_at_97_percent_or_better(scan) -> None:
    data, references = scan
    read = ocr.read_pages(data, range(PAGES))
    assert sorted(read) == list(range(PAGES))
    accuracies = [char_accuracy(ref, read[i]) for i, ref in enumerate(references)]
    assert min(accuracies) >= 0.97, accuracies
    # Blocks carry their page, the PDF says which pages were read by OCR.
    pdf = load_pdf(data, ocr=True)
    assert pdf.ocr_pages == (1, 2, 3)
    assert {b.page for b in pdf.blocks} == {1, 2, 3}


@pytest.mark.slow
def test_a_scanned_pdf_is_ingested_and_cited(tmp_path, scan) -> None:
    data, references = scan
    service = Citewise(_scanned_folder(tmp_path, data), HashingEmbedder())
    summary = service.ingest()
    assert summary.failed == [] and summary.added == ["scanned.pdf"]
    assert (summary.pdf_pages, summary.pages_ocr) == (PAGES, PAGES)
    assert summary.to_json()["pages"] == {"read": PAGES, "ocr": PAGES}

    answer = service.ask(QUESTION)
    assert not answer.abstained
    doc = service.document_text("scanned.pdf")
    cited = [c for c in answer.citations if c.doc_id == "scanned.pdf"]
    assert cited, answer
    quote = next(c for c in cited if "45%" in c.quote)
    assert quote.page == 2 and quote.ocr
    assert quote.to_json()["ocr"] is True
    assert "read by OCR" in sources_card(1, quote)
    assert doc is not None and doc[quote.start:quote.end] == quote.quote
    # The quote is the page's own sentence as read: (nearly) every word of it is on page 2.
    words = quote.quote.split()
    on_page = set(references[1].split())
    assert sum(w in on_page for w in words) / len(words) >= 0.9

    # The pages read are kept in the index: a sync that reads the unchanged scan again
    # (named by path: an unchanged folder is not read at all) takes them from there, it
    # does not OCR them again (a kept page altered by hand shows up in the text).
    kept = sorted((tmp_path / "index" / "ocr").glob("*.txt"))
    assert len(kept) == PAGES
    page_two = next(p for p in kept if "45%" in p.read_text())
    page_two.write_text("Mandelbrot syndrome was read from the kept page.\n")
    assert service.ingest().unchanged == ["scanned.pdf"]  # nothing read
    again = service.ingest([service.settings.sources_dir / "scanned.pdf"])
    assert again.updated == ["scanned.pdf"] and again.pages_ocr == PAGES
    assert "Mandelbrot syndrome was read from the kept page." in \
        service.document_text("scanned.pdf")
