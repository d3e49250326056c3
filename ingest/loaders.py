"""Read source files into blocks of text: one block per paragraph, heading or list item.

Each loader returns `Block`s; cleaning and chunking work on blocks, whatever the format.
Formats: .txt, .md/.markdown (ingest/markdown_text.py), .html/.htm (ingest/html_text.py),
.pdf (ingest/pdf.py: page by page, each block on its page), .docx .pptx .xlsx .xls .csv
.epub .ipynb (ingest/office.py, ingest/sheets.py). Anything else is skipped with a reason.
A file that cannot be read raises `LoadError` with the reason; the caller goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ingest import office
from ingest.errors import LoadError
from ingest.html_text import html_blocks
from ingest.markdown_text import blocks as markdown_blocks
from ingest.pdf import load_pdf
from ingest.types import Block, line_block

SUPPORTED = {".txt": "text", ".md": "markdown", ".markdown": "markdown",
             ".html": "html", ".htm": "html", ".pdf": "pdf", **office.SUPPORTED}


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED


@dataclass(frozen=True)
class Loaded:
    """A file's blocks and, for a PDF, its number of pages, the pages read by OCR and what
    was lost on the way (a page that could not be read, with the reason)."""

    blocks: list[Block]
    pages: int = 0
    ocr_pages: tuple[int, ...] = ()
    problems: tuple[str, ...] = ()


def load(path: Path, data: bytes | None = None) -> list[Block]:
    """Read one file (or its `data`, already read) into blocks, or raise `LoadError` saying
    why it cannot be read."""
    return load_document(path, data).blocks


def load_document(path: Path, data: bytes | None = None, ocr: bool = False) -> Loaded:
    """`load`, with what a PDF also tells (`Loaded`); `ocr`: read scanned PDF pages."""
    kind = SUPPORTED.get(path.suffix.lower())
    if kind is None:
        raise LoadError(f"unsupported file type {path.suffix or '(none)'!r}")
    if data is None:
        data = read_bytes(path)
    if not data.strip():
        raise LoadError("file is empty")
    if kind == "pdf":
        pdf = load_pdf(data, ocr=ocr)
        return Loaded(list(pdf.blocks), pdf.pages, pdf.ocr_pages, pdf.problems)
    if kind in office.SUPPORTED.values() and kind not in office.TEXT_KINDS:
        return Loaded(office.load(kind, data))
    text = decode(data)
    if not text.strip():
        raise LoadError("file is empty")
    if kind in office.TEXT_KINDS:
        return Loaded(office.load_text(kind, text, path.stem))
    if kind == "html":
        return Loaded(_load_html(text))
    if kind == "markdown":
        return Loaded(_load_markdown(text))
    return Loaded(_load_text(text))


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror or exc}") from exc


def decode(data: bytes) -> str:
    """Decode bytes as UTF-8 (with or without BOM) or UTF-16 with BOM; refuse binary data."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise LoadError("looks like a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # A few bad bytes in UTF-8 text: keep the text, replace only those bytes.
        text = data.decode("utf-8-sig", errors="replace")
        if text.count("\ufffd") <= max(3, len(text) // 1000):
            return text
        # Otherwise Latin-1, which decodes any byte string; accept it only when it yields
        # mostly printable text.
        text = data.decode("latin-1")
        printable = sum(ch.isprintable() or ch.isspace() for ch in text)
        if printable / max(len(text), 1) < 0.95:
            raise LoadError("not valid UTF-8 and does not look like text") from None
        return text


def _load_text(text: str) -> list[Block]:
    return [line_block(line) for line in text.splitlines() if line.strip()]


def _load_markdown(text: str) -> list[Block]:
    return markdown_blocks(text)


def _load_html(text: str) -> list[Block]:
    return html_blocks(text)
