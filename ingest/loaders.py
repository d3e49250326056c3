"""Read source files into blocks of text: one block per paragraph, heading or list item.

Each loader returns `Block`s; cleaning and chunking work on blocks, whatever the format.
Formats: .txt, .md/.markdown (ingest/markdown_text.py), .html/.htm (ingest/html_text.py),
.pdf. Anything else is skipped with a reason.
A file that cannot be read raises `LoadError` with the reason; the caller goes on.
"""

from __future__ import annotations

from pathlib import Path

from ingest.errors import LoadError
from ingest.html_text import html_blocks
from ingest.markdown_text import blocks as markdown_blocks
from ingest.types import BULLET, Block, line_block

SUPPORTED = {".txt": "text", ".md": "markdown", ".markdown": "markdown",
             ".html": "html", ".htm": "html", ".pdf": "pdf"}


def is_supported(path: Path) -> bool:
    return path.suffix.lower() in SUPPORTED


def load(path: Path, data: bytes | None = None) -> list[Block]:
    """Read one file (or its `data`, already read) into blocks, or raise `LoadError` saying
    why it cannot be read."""
    kind = SUPPORTED.get(path.suffix.lower())
    if kind is None:
        raise LoadError(f"unsupported file type {path.suffix or '(none)'!r}")
    if data is None:
        data = read_bytes(path)
    if not data.strip():
        raise LoadError("file is empty")
    if kind == "pdf":
        return _load_pdf(data)
    text = decode(data)
    if not text.strip():
        raise LoadError("file is empty")
    if kind == "html":
        return _load_html(text)
    if kind == "markdown":
        return _load_markdown(text)
    return _load_text(text)


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


def _load_pdf(data: bytes) -> list[Block]:
    import io
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except Exception as exc:  # noqa: BLE001  pypdf raises many kinds on a broken file
        raise LoadError(f"broken or unreadable PDF ({exc.__class__.__name__}: {exc})") from exc
    blocks: list[Block] = []
    for page in pages:
        blocks.extend(_pdf_paragraphs(page))
    if not blocks:
        raise LoadError("PDF has no extractable text (scanned images need OCR)")
    return blocks


def _pdf_paragraphs(page: str) -> list[Block]:
    """Re-join lines that PDF extraction broke inside a paragraph."""
    blocks: list[Block] = []
    current = ""
    for raw in page.splitlines():
        line = raw.strip()
        if not line:
            if current:
                blocks.append(line_block(current))
            current = ""
            continue
        if BULLET.match(line) and current:
            blocks.append(line_block(current))
            current = line
        elif current and not current.endswith((".", "?", "!", ":")):
            current = current[:-1] if current.endswith("-") else current + " "
            current += line
        else:
            if current:
                blocks.append(line_block(current))
            current = line
    if current:
        blocks.append(line_block(current))
    return blocks
