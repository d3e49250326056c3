"""Read a PDF page by page (pypdf) into blocks that carry their page number.

Each page's text layer is split into paragraphs (lines the PDF broke inside a paragraph
are joined again) and every block carries `page` (from 1, as a PDF viewer counts), so that
cleaning keeps each page's character range (`SourceDoc.pages`, `ingest.clean`) and every
chunk and citation says which page it is on.

A bad PDF is refused as a whole with its reason (`LoadError`): encrypted with a password
(one encrypted with an empty password is read), truncated or otherwise unreadable, no
pages, no text on any page. A page that makes the parser raise is lost alone: the other
pages are read and the lost page is named, with the reason, in `PdfRead.problems` (the
ingest summary's `warnings`).

Where the others plug in:
- OCR (`ingest.ocr`): `_page_text` is the one place a page's text layer is taken;
  `_read_scanned` is the one place pages whose text layer is missing or almost empty
  (`needs_ocr`) are read by OCR, when `ocr` is on. With it off such a page stays empty,
  and a PDF with no text at all fails with `ingest.ocr.OFF_REASON`.
- Tables (`ingest.pdf_tables`): `_page_with_tables` puts one page's tables, as row blocks,
  in place of the lines that held them in the page's text.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ingest.errors import LoadError
from ingest.types import BULLET, Block, line_block

ENCRYPTED_REASON = ("encrypted PDF that needs a password: save a copy without a password "
                    "(or with an empty one) and ingest that")
NO_TEXT_REASON = "PDF has no extractable text (scanned images need OCR)"


@dataclass(frozen=True)
class PdfRead:
    """What one PDF yielded: its blocks, how many pages it has, which pages were read by
    OCR (numbers from 1) and what was lost on the way ("page 3 of 40 could not be read
    (reason); the other pages were ingested")."""

    blocks: tuple[Block, ...]
    pages: int
    ocr_pages: tuple[int, ...] = ()
    problems: tuple[str, ...] = ()


def load_pdf(data: bytes, ocr: bool = False) -> PdfRead:
    """Read the PDF in `data`, or raise `LoadError` saying why it cannot be read."""
    from pypdf import PasswordType, PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        # pypdf has tried the empty password already; NOT_DECRYPTED means a real one.
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise LoadError(ENCRYPTED_REASON)
        count = len(reader.pages)
    except LoadError:
        raise
    except Exception as exc:  # noqa: BLE001  pypdf raises many kinds on a broken file
        raise LoadError(f"broken or unreadable PDF ({_why(exc)}): it may be truncated or "
                        "damaged; save it again from its original and ingest that") from exc
    if count == 0:
        raise LoadError("PDF has no pages")

    texts: list[str] = []
    problems: list[str] = []
    lost: set[int] = set()
    for index in range(count):
        try:
            texts.append(_page_text(reader.pages[index]))
        except Exception as exc:  # noqa: BLE001  one bad page must not lose the others
            texts.append("")
            lost.add(index)
            problems.append(f"page {index + 1} of {count} could not be read ({_why(exc)}); "
                            "the other pages were ingested")
    scanned = [i for i, text in enumerate(texts) if i not in lost and _needs_ocr(text)]
    ocr_read = _read_scanned(data, scanned) if ocr and scanned else {}
    if scanned and not ocr and len(scanned) + len(lost) < count:  # never skipped silently
        numbers = ", ".join(str(i + 1) for i in scanned)
        problems.append(f"{'pages' if len(scanned) > 1 else 'page'} {numbers} of {count} "
                        f"{'have' if len(scanned) > 1 else 'has'} no text layer and "
                        f"{'were' if len(scanned) > 1 else 'was'} not read (OCR is off)")
    for index, text in ocr_read.items():
        texts[index] = text

    blocks: list[Block] = []
    for index, text in enumerate(texts):
        blocks.extend(_page_with_tables(data, index, text))
    if not blocks:
        if len(problems) == count:
            raise LoadError(f"broken or unreadable PDF: no page could be read "
                            f"({_why_lost(problems[0])})")
        raise LoadError(_no_text_reason(ocr))
    return PdfRead(tuple(blocks), count, tuple(sorted(i + 1 for i in ocr_read)),
                   tuple(problems))


def page_blocks(text: str, page: int) -> list[Block]:
    """The paragraphs of one page's text, each a block on `page`: lines that PDF extraction
    broke inside a paragraph are joined again (a hyphen at a line's end is dropped)."""
    blocks: list[Block] = []
    current = ""

    def flush() -> None:
        if current:
            block = line_block(current)
            blocks.append(Block(block.text, block.kind, block.level, page))

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            flush()
            current = ""
            continue
        if BULLET.match(line) and current:
            flush()
            current = line
        elif current and not current.endswith((".", "?", "!", ":")):
            current = current[:-1] if current.endswith("-") else current + " "
            current += line
        else:
            flush()
            current = line
    flush()
    return blocks


def _page_text(page: Any) -> str:
    """The text layer of one pypdf page ("" when it has none)."""
    return page.extract_text() or ""


def _needs_ocr(text: str) -> bool:
    try:
        from ingest.ocr import needs_ocr
    except ImportError:  # no OCR room: only a page with no text at all is "scanned"
        return not text.strip()
    return needs_ocr(text)


def _read_scanned(data: bytes, indexes: Sequence[int]) -> dict[int, str]:
    """OCR text of the pages at `indexes` (0-based) of the PDF: index -> text."""
    from ingest.ocr import read_pages

    return read_pages(data, indexes)


def _no_text_reason(ocr: bool) -> str:
    if ocr:
        return NO_TEXT_REASON
    try:
        from ingest.ocr import OFF_REASON
    except ImportError:
        return NO_TEXT_REASON
    return OFF_REASON


def _page_with_tables(data: bytes, index: int, text: str) -> list[Block]:
    """The blocks of page `index` (0-based), whose text is `text`, with its tables as row
    blocks ("Drug: ...; Dose: ...", kind "row") in place of their lines (`ingest.pdf_tables`)."""
    from ingest.pdf_tables import find_tables, page_blocks_with_tables

    page = index + 1
    return page_blocks_with_tables(text, find_tables(data, index),
                                   lambda part: page_blocks(part, page))


def _why_lost(problem: str) -> str:
    """The reason inside a "page N of M could not be read (reason); ..." problem."""
    return problem[problem.index("(") + 1:problem.rindex(")")]


def _why(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__
