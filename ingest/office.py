"""Office documents, e-books and notebooks as citewise blocks: .docx .pptx .xlsx .xls .csv
.epub .ipynb.

Each format is read with the reader of `llama-index-readers-file` (0.7.0) where that reader
keeps the structure citewise needs (headings, rows), and otherwise with the format library
underneath it; what comes out is always citewise's own `Block`s, so cleaning, exact spans,
heading paths, dedup and incremental re-ingest work as for every other format:

- `.pptx`: llama-index's `PptxReader` (python-pptx), one document per slide, images not
  captioned (that path would load torch and a vision model) and no LLM. Its metadata keeps
  the structure: the slide title (a level-1 heading), each text paragraph with its bullet
  level, tables as header and rows (`ingest.tables`), speaker notes. Its text is not used:
  it adds "Title:", "-----" and Markdown marks that are not in the slide.
- `.docx`: python-docx. The llama-index `DocxReader` runs docx2txt, which is not installed
  and returns plain text without heading styles, lists or table cells. Here: "Title" and
  "Heading N" styles (and styles based on them) are headings, list paragraphs are items,
  tables are rows by the one table rule (`ingest.tables.grid_blocks`: merged cells as
  spans, "repeat as header row" rows as the header).
- `.xlsx`, `.xls`, `.csv`: openpyxl, xlrd and `csv`, the engines of `PandasExcelReader` and
  `CSVReader`, whose output is a sheet flattened into one text: see `ingest/sheets.py`.
- `.epub`: ebooklib, as `EpubReader` does, but chapter by chapter in reading (spine) order,
  each read by citewise's own HTML reader (`ingest.html_text`: h1-h6 headings, lists,
  tables), instead of html2text's Markdown (not installed) of every item in file order;
  the book's title (its metadata) is the level-1 heading above the chapters.
- `.ipynb`: the notebook's JSON. `IPYNBReader` needs nbconvert (not installed) and turns
  Markdown cells into comments of a script. Here Markdown cells are read as Markdown
  (`ingest.markdown_text`: their headings become headings) and the text output of code
  cells (printed text, plain-text results) as lines; code itself and tracebacks are left out.

The format libraries are imported only when such a file is read (in the reader child,
`ingest/worker.py`). A damaged file, a password-protected one (Word, PowerPoint and Excel
save those as an encrypted OLE file, not a zip) and a DRM-encrypted EPUB each raise
`LoadError` with the reason.
"""

from __future__ import annotations

import io
import json
import logging
import re
import tempfile
import warnings
import zipfile
from pathlib import Path

from ingest.errors import LoadError
from ingest.html_text import html_blocks
from ingest.markdown_text import blocks as markdown_blocks
from ingest.sheets import csv_blocks, why, xls_blocks, xlsx_blocks
from ingest.tables import Cell, grid_blocks, row_blocks
from ingest.types import Block, line_block

SUPPORTED = {".docx": "docx", ".pptx": "pptx", ".xlsx": "xlsx", ".xls": "xls",
             ".csv": "csv", ".epub": "epub", ".ipynb": "ipynb"}
TEXT_KINDS = frozenset({"csv", "ipynb"})  # decoded as text first (`load_text`)

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_STREAM = "EncryptionInfo".encode("utf-16-le")  # an encrypted OOXML file's stream
_NAMES = {"docx": "Word document (.docx)", "pptx": "PowerPoint file (.pptx)",
          "xlsx": "Excel workbook (.xlsx)", "epub": "EPUB book"}
_FONT = re.compile(rb"\.(?:ttf|otf|woff2?)$", re.IGNORECASE)
_SENTENCE_END = (".", "!", "?", ":", ";")
MAX_TITLE_WORDS = 20  # a longer "title" the pptx reader guessed is a paragraph


def load(kind: str, data: bytes) -> list[Block]:
    """Blocks of a binary office file of `kind` (a value of `SUPPORTED`)."""
    if kind == "xls" and data.startswith(b"PK"):
        kind = "xlsx"  # an .xlsx named .xls: read it as what it is
    elif kind == "xlsx" and data.startswith(OLE_MAGIC) and _ENCRYPTED_STREAM not in data:
        kind = "xls"  # and an .xls named .xlsx
    if kind == "xls":
        return xls_blocks(data)
    check_container(kind, data)
    if kind == "xlsx":
        return xlsx_blocks(data)
    if kind == "docx":
        return docx_blocks(data)
    if kind == "pptx":
        return pptx_blocks(data)
    if kind == "epub":
        return epub_blocks(data)
    raise LoadError(f"unsupported office format {kind!r}")


def load_text(kind: str, text: str, name: str = "") -> list[Block]:
    """Blocks of a text format of `kind` (`TEXT_KINDS`), already decoded; `name` is the
    file's name without its suffix: a CSV file's heading, as a sheet's name is in a
    workbook (otherwise its first row would be taken for its title, and a document's title
    line is never cited as an answer)."""
    if kind == "csv":
        return csv_blocks(text, name)
    return ipynb_blocks(text)


def check_container(kind: str, data: bytes) -> None:
    """Refuse, with the reason, a .docx/.pptx/.xlsx/.epub that is not a zip archive: an
    encrypted (password-protected) Office file, an old binary one, or a damaged file."""
    what = _NAMES[kind]
    if data.startswith(OLE_MAGIC):
        if kind != "epub" and _ENCRYPTED_STREAM in data:
            raise LoadError(f"the {what} is password-protected (encrypted): save a copy "
                            "without the password and ingest that")
        raise LoadError(f"not a {what} but an old binary Office file (.doc, .ppt or .xls "
                        f"format): save it as .{kind} and ingest that")
    if not data.startswith(b"PK\x03\x04"):
        raise LoadError(f"not a {what}: the file is damaged or of another kind (a .{kind} "
                        "file is a zip archive)")


def _broken(what: str, exc: Exception) -> LoadError:
    return LoadError(f"damaged {what} ({why(exc)}): open it in the program that made it and "
                     "save it again")



def _nonempty(blocks: list[Block], what: str) -> list[Block]:
    if not any(b.kind != "heading" for b in blocks):
        raise LoadError(f"the {what} holds no text")
    return blocks


def text_block(text: str) -> Block | None:
    """A paragraph of a slide or a note: a sentence is a paragraph; a short line without
    closing punctuation is a bullet item (so that the cleaner does not take it for a
    heading)."""
    text = " ".join(text.split())
    if not text:
        return None
    return Block(text, "para") if text.endswith(_SENTENCE_END) else Block(text, "item")


# --- .docx ------------------------------------------------------------------------------

def docx_blocks(data: bytes) -> list[Block]:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        content = list(document.iter_inner_content())
    except Exception as exc:  # noqa: BLE001  zipfile, lxml and python-docx raise their own
        raise _broken(_NAMES["docx"], exc) from exc
    styles = [_style_names(p) for p in content if not isinstance(p, Table)]
    shift = 1 if any("Title" in names for names in styles) else 0
    out: list[Block] = []
    for part in content:
        if isinstance(part, Table):
            out.extend(_docx_table(part))
            continue
        text = " ".join(part.text.split())
        if not text:
            continue
        level = _heading_level(_style_names(part))
        if level is not None:
            out.append(Block(text, "heading", 1 if level == 0 else min(level + shift, 6)))
        elif _is_list(part):
            out.append(Block(text, "item"))
        else:
            out.append(line_block(text))
    return _nonempty(out, _NAMES["docx"])


def _style_names(paragraph) -> list[str]:
    """The paragraph's style and the styles it is based on, nearest first."""
    names: list[str] = []
    style = paragraph.style
    while style is not None and len(names) < 8:
        names.append(style.name or "")
        style = style.base_style
    return names


def _heading_level(names: list[str]) -> int | None:
    """0 for "Title", N for "Heading N", None for any other style."""
    for name in names:
        if name == "Title":
            return 0
        m = re.fullmatch(r"[Hh]eading ?(\d)", name)
        if m:
            return max(int(m.group(1)), 1)
    return None


def _is_list(paragraph) -> bool:
    if any(n.startswith("List") for n in _style_names(paragraph)):
        return True
    ppr = paragraph._p.pPr
    return ppr is not None and ppr.numPr is not None


def _docx_table(table) -> list[Block]:
    """A Word table through the one table rule (`ingest.tables.grid_blocks`): merged cells
    as spans, rows marked "repeat as header row" as the header (else the first row if it
    looks like one)."""
    from docx.oxml.ns import qn
    from docx.table import _Cell

    grid: list[list[list]] = []  # per row: [text, colspan, rowspan, first column]
    below: dict[int, list] = {}  # column -> the cell a vertical merge continues
    header_rows, leading = 0, True
    for tr in table._tbl.tr_lst:
        row, col = [], 0
        for tc in tr.tc_lst:
            span = max(1, min(tc.grid_span, 64))
            if tc.vMerge == "continue" and col in below:
                below[col][2] += 1
            else:
                cell = [" ".join(_Cell(tc, table).text.split()), span, 1, col]
                row.append(cell)
                if tc.vMerge == "restart":
                    below[col] = cell
                else:
                    below.pop(col, None)
            col += span
        grid.append(row)
        marked = tr.trPr is not None and tr.trPr.find(qn("w:tblHeader")) is not None
        leading = leading and marked
        header_rows += leading
    cells = [[Cell(text, colspan, rowspan, header=r < header_rows)
              for text, colspan, rowspan, _ in row] for r, row in enumerate(grid)]
    return grid_blocks(cells, header_rows or None)


# --- .pptx (llama-index's PptxReader) ---------------------------------------------------

def pptx_blocks(data: bytes) -> list[Block]:
    reader = _pptx_reader()
    with tempfile.TemporaryDirectory(prefix="citewise-pptx-") as tmp:
        path = Path(tmp) / "slides.pptx"
        path.write_bytes(data)
        try:
            slides = reader.load_data(path)
        except Exception as exc:  # noqa: BLE001  the reader wraps every error in ValueError
            message = " ".join(str(exc).replace(str(path), "the file").split())[:200]
            raise LoadError(f"damaged {_NAMES['pptx']} ({message}): open it in PowerPoint "
                            "and save it again") from exc
    out: list[Block] = []
    for slide in slides:
        out.extend(_slide_blocks(slide.metadata))
    return _nonempty(out, _NAMES["pptx"])


def _pptx_reader():
    """llama-index's PptxReader without image captions, LLM or threads. Importing it calls
    `logging.basicConfig(level=INFO)`; the root logger is put back as it was."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        from llama_index.readers.file.slides import PptxReader
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    for name in ("llama_index.readers.file.slides", "llama_index.readers.file.slides.base"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return PptxReader(extract_images=False, context_consolidation_with_llm=False,
                      num_workers=0, raise_on_error=True)


def _slide_blocks(meta: dict) -> list[Block]:
    title = " ".join(str(meta.get("title") or "").split())
    if len(title.split()) > MAX_TITLE_WORDS or title.endswith((".", "!", "?")):
        # A slide without a title placeholder: the reader guesses its top, shortest text,
        # which may be a whole paragraph; that stays text.
        title = ""
    out: list[Block] = [Block(title, "heading", 1)] if title else []
    for section in meta.get("text_sections") or []:
        paragraphs = section.get("structure") or []
        if " ".join(str(section.get("content", "")).split()) == title:
            continue  # the title's own shape
        for para in paragraphs:
            block = text_block(str(para.get("text", "")))
            if block is not None:
                out.append(block)
    for table in meta.get("tables") or []:
        headers, data = table.get("headers") or [], table.get("data") or []
        if headers:  # the table's "header row" option is on
            out.extend(row_blocks(headers, data))
        else:  # the first row is the header if it looks like one (`ingest.tables`)
            out.extend(grid_blocks([[Cell(str(c)) for c in row] for row in data]))
    notes = re.sub(r"^\[Speaker Notes\]:\s*", "", str(meta.get("notes") or ""))
    for line in notes.splitlines():
        block = text_block(line)
        if block is not None:
            out.append(block)
    return out


# --- .epub ------------------------------------------------------------------------------

def epub_blocks(data: bytes) -> list[Block]:
    _refuse_drm(data)
    import ebooklib
    from ebooklib import epub

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = epub.read_epub(io.BytesIO(data), options={"ignore_ncx": True})
    except Exception as exc:  # noqa: BLE001  ebooklib, zipfile and lxml raise their own
        raise _broken(_NAMES["epub"], exc) from exc
    out: list[Block] = []
    for idref, *_ in book.spine:
        item = book.get_item_with_id(idref)
        if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT:
            continue
        out.extend(html_blocks(item.get_content().decode("utf-8", errors="replace")))
    title = _book_title(book)
    if title and not (out and out[0].kind == "heading" and out[0].text == title):
        # The book's title above its chapters: the document's title, chapters one level down
        out = [Block(title, "heading", 1)] + [
            Block(b.text, b.kind, min(b.level + 1, 6), b.page, b.anchor)
            if b.kind == "heading" else b for b in out]
    return _nonempty(out, _NAMES["epub"])


def _book_title(book) -> str:
    try:
        found = book.get_metadata("DC", "title")
    except Exception:  # noqa: BLE001  metadata is optional; a book reads without it
        return ""
    return " ".join(str(found[0][0]).split()) if found and found[0] else ""


def _refuse_drm(data: bytes) -> None:
    """An EPUB whose META-INF/encryption.xml encrypts anything but fonts (which readers
    obfuscate routinely) is DRM-protected: its chapters cannot be read."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "META-INF/encryption.xml" not in archive.namelist():
                return
            manifest = archive.read("META-INF/encryption.xml")
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _broken(_NAMES["epub"], exc) from exc
    uris = re.findall(rb'URI\s*=\s*["\']([^"\']+)["\']', manifest)
    if any(not _FONT.search(uri) for uri in uris):
        raise LoadError("the EPUB book is DRM-protected (its chapters are encrypted): "
                        "ingest a DRM-free copy")


# --- .ipynb -----------------------------------------------------------------------------

def ipynb_blocks(text: str) -> list[Block]:
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadError(f"not a valid notebook: its JSON is broken at line {exc.lineno}, "
                        f"column {exc.colno} ({exc.msg})") from exc
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise LoadError("not a Jupyter notebook of format 4 or later (no list of cells): "
                        "open it in Jupyter and save it again")
    out: list[Block] = []
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        kind = cell.get("cell_type")
        if kind == "markdown":
            out.extend(markdown_blocks(_joined(cell.get("source"))))
        elif kind == "raw":
            out.extend(_lines(_joined(cell.get("source"))))
        elif kind == "code":
            for output in cell.get("outputs") or []:
                out.extend(_lines(_output_text(output)))
    return _nonempty(out, "notebook")


def _joined(source: object) -> str:
    if isinstance(source, list):
        return "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def _output_text(output: object) -> str:
    if not isinstance(output, dict):
        return ""
    if output.get("output_type") == "stream":
        return _joined(output.get("text"))
    data = output.get("data")
    if isinstance(data, dict):
        return _joined(data.get("text/plain"))
    return ""


def _lines(text: str) -> list[Block]:
    return [line_block(line) for line in text.splitlines() if line.strip()]
