"""Scanned pages read offline: a PDF page with no text layer (or almost none) is rendered
into an image and read by OCR.

    needs_ocr(text)          does this page's text layer hold too little to be the page?
    page_images(data)        each page of a PDF rendered into an image (pypdfium2)
    ocr_page(image)          the text of one page image, lines as read, a blank line
                             between paragraphs (the PDF loader joins lines as for any page)
    read_pages(data, pages)  render and read those pages of a PDF

The engine is Debian's `tesseract-ocr` (English) through `pytesseract`, chosen by
measurement (`bench/ocr.py`, README "Scanned PDFs"); nothing is downloaded at run time.
Imports of Pillow, pypdfium2 and pytesseract are lazy: only an ingest that meets a
scanned page pays for them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from ingest.errors import LoadError

# A page is rendered at the resolution of its scan (its largest image), within these
# bounds; at DPI when it holds no image (text drawn as shapes). Reading a 200 dpi scan at
# 300 dpi was slower and less accurate (bench/ocr.py --read-dpi).
DPI = 300
MIN_DPI, MAX_DPI = 150, 400
# One thread: tesseract's OpenMP threads spin while they wait, and on a busy machine two of
# them took 4x as long as one (a page at load ~9: 109 s against 27 s; bench/ocr.py
# --threads). Tesseract's own advice where several processes share the cores is
# OMP_THREAD_LIMIT=1.
THREADS = 1
MIN_TEXT_CHARS = 16  # a text layer with fewer letters and digits than this is not the page
OFF_REASON = "no text layer (OCR is off)"
MISSING_REASON = ("a page has no text layer and OCR needs the tesseract program: install "
                  "it (apt-get install tesseract-ocr) and ingest again")

# Cache entries are named by the PDF's sha256, the page and this: change it when what a
# page reads as changes (engine, language, segmentation, rendering).
CACHE_KEY = "tesseract-eng-psm3-scan-dpi"

_WORD = re.compile(r"[^\W_]")
log = logging.getLogger(__name__)


class PageReader(Protocol):
    """An OCR engine: the text of one page image."""

    def __call__(self, image: Any) -> str: ...


def needs_ocr(text: str) -> bool:
    """True when a page's extracted text holds fewer than MIN_TEXT_CHARS letters and digits
    (a scan, or a scan with a stray page number on it)."""
    return len(_WORD.findall(text)) < MIN_TEXT_CHARS


def page_images(data: bytes, pages: Sequence[int] | None = None,
                dpi: int | None = None) -> Iterator[Any]:
    """Render `pages` (0-based; all when None) of the PDF in `data` into greyscale PIL
    images, at `dpi`, or (None) at the resolution of each page's scan (`scan_dpi`)."""
    import pypdfium2 as pdfium

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise LoadError(f"cannot render the PDF's scanned pages ({exc})") from exc
    try:
        for index in range(len(document)) if pages is None else pages:
            page = document[index]
            try:
                bitmap = page.render(scale=(dpi or scan_dpi(page)) / 72, grayscale=True)
                yield bitmap.to_pil()
            finally:
                page.close()
    finally:
        document.close()


def scan_dpi(page: Any) -> float:
    """The resolution of the largest image on a pypdfium2 page (pixels per inch as placed),
    within MIN_DPI..MAX_DPI; DPI when the page holds no image."""
    import pypdfium2.raw as pdfium_c

    best = 0.0
    for image in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=2):
        left, _, right, _ = image.get_bounds()
        width_px, _ = image.get_px_size()
        if right - left > 72:  # at least an inch wide: not a logo or a stamp
            best = max(best, width_px * 72 / (right - left))
    return min(max(best, MIN_DPI), MAX_DPI) if best else DPI


class Tesseract:
    """Debian's tesseract-ocr through pytesseract: English, automatic page segmentation."""

    def __init__(self, threads: int = THREADS) -> None:
        import pytesseract

        self._tesseract = pytesseract
        # tesseract is a child process; OMP_THREAD_LIMIT caps its OpenMP threads.
        self._env = {"OMP_THREAD_LIMIT": str(threads)}
        try:
            pytesseract.get_tesseract_version()
        except pytesseract.TesseractNotFoundError as exc:
            raise LoadError(MISSING_REASON) from exc

    def __call__(self, image: Any) -> str:
        saved = {k: os.environ.get(k) for k in self._env}
        os.environ.update(self._env)
        try:
            return self._tesseract.image_to_string(image, lang="eng", config="--psm 3")
        except self._tesseract.TesseractError as exc:
            raise LoadError(f"OCR failed on a scanned page ({exc})") from exc
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


_default: PageReader | None = None
before_page: Callable[[], None] | None = None  # set by the file reader child (ingest.worker)
cache_dir: Path | None = None  # where read pages are kept; set per file by ingest.worker


def ocr_page(image: Any) -> str:
    """The text of one page image, read by the default engine (loaded once a process)."""
    global _default
    if _default is None:
        _default = Tesseract()
    return _default(image)


def read_pages(data: bytes, pages: Sequence[int]) -> dict[int, str]:
    """Render and read `pages` (0-based) of the PDF in `data`: page index -> text.

    A page read before (same PDF bytes, same page, `CACHE_KEY`) is taken from `cache_dir`
    when it is set (`<index>/ocr/`, so a sync does not OCR an unchanged scan again).
    `before_page` is called before each page that is read (in the file reader child it
    starts the file's time budget again, `ingest.worker.renew_budget`: a scan of many
    pages is not cut short, one stuck page is)."""
    digest = hashlib.sha256(data).hexdigest() if cache_dir is not None else ""
    out: dict[int, str] = {}
    for index in pages:
        cached = _cached(digest, index)
        if cached is not None:
            out[index] = cached
    todo = [index for index in pages if index not in out]
    images = page_images(data, todo)
    for index in todo:
        if before_page is not None:
            before_page()
        out[index] = ocr_page(next(images))
        _keep(digest, index, out[index])
    return {index: out[index] for index in pages}


def _cache_file(digest: str, index: int) -> Path | None:
    if cache_dir is None or not digest:
        return None
    key = hashlib.sha256(f"{CACHE_KEY}:{digest}:{index}".encode()).hexdigest()[:32]
    return cache_dir / f"{key}.txt"


def _cached(digest: str, index: int) -> str | None:
    path = _cache_file(digest, index)
    try:
        return path.read_text(encoding="utf-8") if path is not None else None
    except (OSError, UnicodeDecodeError):
        return None


def _keep(digest: str, index: int, text: str) -> None:
    """Keep a page's text for the next sync; a cache that cannot be written is only slower."""
    path = _cache_file(digest, index)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        log.warning("cannot keep the OCR text of a page in %s (%s): it will be read again "
                    "next time", path.parent, exc)
