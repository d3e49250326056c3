"""Tables in a PDF page, found by pdfplumber, as row blocks in place of their text.

pdfplumber (`Page.find_tables`, its default "lines" strategy) finds tables drawn with
ruling lines or cell borders; a table set out with spaces only is not found and stays text.
A found table with fewer than two rows or two columns (a box drawn round a paragraph) is
left as text. Each table becomes one `row` block per row (`ingest.tables.grid_blocks`:
the first row is the header when it looks like one; a merged cell, read from the boxes
pdfplumber found the cells in, spans its rows and columns as an HTML cell does).

The page's text (pypdf's, as `ingest.pdf` reads it) holds the same table as a run of lines
("Pyridostigmine 60 mg four times daily ..."). `page_blocks_with_tables` finds that run, the
longest stretch of consecutive lines made only of the table's words, and puts the rows in
its place, so the rows are where the table was and its cells are not read twice; when no
run holds half the table's words, the rows follow the page's text.

Cost: pdfplumber lays out a page in about 0.1 s, so a page is looked at only when its
content stream draws at least `MIN_PATHS` rectangles or lines (a page of text draws none)
and at most `MAX_PATHS` (a vector chart or drawing: pdfplumber took 0.7 s on a page of
2,000 lines and 3 s on one of 8,000, and found no table in either); a table drawn inside a
form XObject is not found.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import islice
from typing import Any

from ingest.tables import Cell, grid_blocks, looks_like_header
from ingest.types import Block

log = logging.getLogger(__name__)

MIN_PATHS = 4
MAX_PATHS = 2000
_PATH_OP = re.compile(rb"\sre\s|\sl\s")


@dataclass(frozen=True)
class PageTable:
    """One table of a page: its row blocks, its cells' words and where it lies on the page
    (x0, top, x1, bottom in PDF points, as pdfplumber gives it)."""

    rows: tuple[Block, ...]
    words: tuple[str, ...]
    bbox: tuple[float, float, float, float]


@lru_cache(maxsize=1)
def _open(data: bytes) -> Any:
    """The pdfplumber document of `data`, kept for the next page of the same PDF (bytes
    cache their hash, so the look-up is cheap); None when pdfplumber cannot open it (so a
    PDF only pypdf reads is not parsed again for each of its pages)."""
    import pdfplumber

    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    try:
        return pdfplumber.open(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001  pdfminer raises many kinds
        log.info("no table search in this PDF: %s: %s", exc.__class__.__name__, exc)
        return None


def _draws_enough(page: Any) -> bool:
    try:
        streams = page.page_obj.contents or []
        data = b"".join(s.get_data() for s in streams if hasattr(s, "get_data"))
    except Exception:  # noqa: BLE001  unreadable content: let pdfplumber decide
        return True
    paths = sum(1 for _ in islice(_PATH_OP.finditer(data), MAX_PATHS + 1))
    return MIN_PATHS <= paths <= MAX_PATHS


@dataclass(frozen=True)
class _Found:
    """A table as pdfplumber found it: its box, cell texts, cell boxes (None where a merged
    cell covers the place) and the height of its page."""

    bbox: tuple[float, float, float, float]
    cells: list[list[str | None]]
    boxes: list[list[Any]]
    page_height: float


@lru_cache(maxsize=4)
def _found(data: bytes, index: int) -> tuple[_Found, ...]:
    """The tables of page `index` with 2+ rows and 2+ columns, top to bottom (cached: the
    next page looks back at this one's last table)."""
    doc = _open(data)
    if doc is None:
        return ()
    page = doc.pages[index]
    if not _draws_enough(page):
        return ()
    try:
        found = [_Found(tuple(t.bbox), t.extract(), [row.cells for row in t.rows],
                        float(page.height)) for t in page.find_tables()]
    finally:
        page.close()
    return tuple(sorted((t for t in found if len(t.cells) >= 2
                         and max(len(r) for r in t.cells) >= 2),
                        key=lambda t: (t.bbox[1], t.bbox[0])))


def find_tables(data: bytes, index: int, page_no: int | None = None) -> list[PageTable]:
    """The tables on page `index` (0-based) of the PDF in `data`, top to bottom; their row
    blocks carry `page_no` (default index + 1). [] when pdfplumber finds none or cannot
    read the page (the page's text is then read as text; the reason is logged).

    A table at the top of a page whose first row is not a header, with as many columns as
    a table ending at the foot of the page before, continues that table: its rows are
    named by that table's header."""
    page_no = index + 1 if page_no is None else page_no
    try:
        tables = _found(data, index)
    except Exception as exc:  # noqa: BLE001  pdfplumber/pdfminer raise many kinds
        log.info("tables of page %d not read: %s: %s", page_no, exc.__class__.__name__, exc)
        return []
    try:
        before = _found(data, index - 1) if index > 0 and tables else ()
    except Exception:  # noqa: BLE001  the page before is unreadable: nothing continues
        before = ()
    out = []
    headers = _headers(data)
    for i, table in enumerate(tables):
        rows = _spanned(table.cells, table.boxes)
        header = _continued_header(before[-1], table, headers.get(index - 1)) \
            if i == 0 and before else None
        if i == len(tables) - 1:  # the header a table on the next page may continue
            headers[index] = header if header is not None else rows[0]
        if header is not None:
            rows = [header, *rows]
        blocks = grid_blocks(rows, 1 if header is not None else None)
        words = tuple(w for row in table.cells for c in row for w in (c or "").split())
        if blocks:
            out.append(PageTable(tuple(replace(b, page=page_no) for b in blocks), words,
                                 table.bbox))
    return out


CONTINUED = 0.2  # share of the page's height: a table ending this near its foot, or
# starting this near the next page's top, may be one table across the page break


@lru_cache(maxsize=1)
def _headers(data: bytes) -> dict[int, list[Cell]]:
    """Page index -> the header in force at the end of its last table (its first row, or
    the header it continued), filled as the pages are read in order."""
    return {}


def _continued_header(before: _Found, table: _Found, head: list[Cell] | None
                      ) -> list[Cell] | None:
    """`head`, the header of `before`, if `table` continues `before` (see `find_tables`)."""
    first = [c or "" for c in table.cells[0]]
    if (head is None or before.bbox[3] < before.page_height * (1 - CONTINUED)
            or table.bbox[1] > table.page_height * CONTINUED
            or len(before.cells[0]) != len(first) or looks_like_header(first)
            or not looks_like_header([c.text for c in head])):
        return None
    return head


def _spanned(cells: list[list[str | None]], boxes: list[list[Any]]) -> list[list[Cell]]:
    """The table's cells with their spans, from the boxes pdfplumber found them in: a cell
    whose box covers two rows' tops is one cell of rowspan 2 (pdfplumber gives None for the
    places it covers), so `grid_blocks` repeats it in each row."""
    xs = sorted({round(b[0], 1) for row in boxes for b in row if b})
    tops = sorted({round(b[1], 1) for row in boxes for b in row if b})
    out: list[list[Cell]] = []
    for texts, row in zip(cells, boxes, strict=False):
        line = []
        for text, box in zip(texts, row, strict=False):
            if box is None:
                continue  # covered by a merged cell
            colspan = sum(1 for x in xs if box[0] - 0.5 <= x < box[2] - 0.5) or 1
            rowspan = sum(1 for t in tops if box[1] - 0.5 <= t < box[3] - 0.5) or 1
            line.append(Cell(text or "", colspan, rowspan))
        out.append(line)
    return out


def _run(lines: Sequence[str], words: Sequence[str], taken: set[int]) -> tuple[int, int]:
    """(first, end) of the longest run of consecutive lines made only of `words` (each
    word used once), not in `taken`; (0, 0) when none holds half of the words."""
    best, best_used = (0, 0), 0
    i = 0
    while i < len(lines):
        left = Counter(words)
        j, used = i, 0
        while j < len(lines) and j not in taken:
            tokens = Counter(lines[j].split())
            if not tokens or any(left[w] < n for w, n in tokens.items()):
                break
            left -= tokens
            used += sum(tokens.values())
            j += 1
        if used > best_used:
            best, best_used = (i, j), used
        i = max(j, i + 1)
    return best if best_used * 2 >= len(words) else (0, 0)


def page_blocks_with_tables(text: str, tables: Sequence[PageTable],
                            paragraphs: Callable[[str], list[Block]]) -> list[Block]:
    """The blocks of a page whose text is `text` and whose tables are `tables`: the text's
    paragraphs (`paragraphs`, the PDF loader's rule) with each table's rows in place of the
    run of lines that held it."""
    if not tables:
        return paragraphs(text)
    lines = text.splitlines()
    taken: set[int] = set()
    placed: list[tuple[int, int, PageTable]] = []
    after: list[PageTable] = []
    for table in tables:
        first, end = _run(lines, table.words, taken)
        if end > first:
            taken.update(range(first, end))
            placed.append((first, end, table))
        else:
            after.append(table)
    out: list[Block] = []
    pos = 0
    for first, end, table in sorted(placed, key=lambda p: p[0]):
        out.extend(paragraphs("\n".join(lines[pos:first])))
        out.extend(table.rows)
        pos = end
    out.extend(paragraphs("\n".join(lines[pos:])))
    for table in after:
        out.extend(table.rows)
    return out
