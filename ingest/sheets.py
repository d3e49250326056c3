"""Spreadsheets and CSV as rows: one `row` block per row, each cell named by its header.

`.xlsx` is read with openpyxl and `.xls` with xlrd, the two engines under llama-index's
`PandasExcelReader`, and `.csv` with the standard `csv` module that its `CSVReader` uses;
not through those readers, which join a whole sheet into one text (pandas also renames
blank headers "Unnamed: 0", turns 75 into 75.0 beside an empty cell, and reads a whole sheet
before anything can be checked). Here each sheet becomes a heading (its name) followed by
its rows, the first non-empty row being the header, written by the one row rule
(`ingest.tables.row_text`: "Drug: Aspirin; Dose: 75 mg.").

A sheet (or CSV file) of more than `MAX_SHEET_CELLS` cells (non-empty rows x columns used)
is refused with the reason: it is counted while read, so a huge sheet costs no more than the
limit to refuse.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence

from ingest.errors import LoadError
from ingest.tables import row_blocks
from ingest.types import Block

MAX_SHEET_CELLS = 100_000  # per sheet: e.g. 5,000 rows of 20 columns


def too_large(sheet: str) -> LoadError:
    return LoadError(
        f"{sheet} has more than {MAX_SHEET_CELLS:,} cells (rows x columns), the most "
        "citewise reads from one sheet: split it into smaller sheets or files")


def why(exc: Exception, limit: int = 200) -> str:
    """A library's exception as a short reason: its type and the start of its message."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:limit]}{'...' if len(text) > limit else ''}"


def cell_text(value: object) -> str:
    """A cell as it reads: 75.0 as 75, a date without a midnight time, booleans as Yes/No."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return " ".join(str(value).split())


def table_blocks(name: str, rows: Iterable[Sequence[object]], heading: str | None = None,
                 ) -> list[Block]:
    """The heading (if any), then one row block per non-empty data row; the first non-empty
    row is the header. `name` says which sheet in an error."""
    header: list[str] | None = None
    data: list[list[str]] = []
    cells = 0
    for raw in rows:
        row = [cell_text(v) for v in raw]
        while row and not row[-1]:
            row.pop()
        if not row:
            continue
        cells += len(row)
        if cells > MAX_SHEET_CELLS:
            raise too_large(name)
        if header is None:
            header = row
        else:
            data.append(row)
    if header is None:
        return []
    # A sheet with a header row only is its header's text, as one row.
    body = row_blocks(header, data) if data else row_blocks([], [header])
    if not body:
        return []
    return ([Block(heading, "heading", 1)] if heading else []) + body


def xlsx_blocks(data: bytes) -> list[Block]:
    """Every visible worksheet of an .xlsx/.xlsm file, each its name as a heading."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001  zipfile, lxml and openpyxl each raise their own
        raise LoadError(f"not a readable .xlsx workbook ({why(exc)}): "
                        "open it in a spreadsheet program and save it again") from exc
    try:
        out: list[Block] = []
        for ws in book.worksheets:
            if ws.sheet_state != "visible":
                continue
            out.extend(table_blocks(f"sheet {ws.title!r}", ws.iter_rows(values_only=True),
                                    heading=ws.title))
        return _nonempty(out, "workbook")
    finally:
        book.close()


def xls_blocks(data: bytes) -> list[Block]:
    """Every visible sheet of an Excel 97-2003 .xls file, each its name as a heading."""
    import xlrd

    try:
        # xlrd prints its warnings to stdout unless given a log of its own
        book = xlrd.open_workbook(file_contents=data, on_demand=True, logfile=io.StringIO())
    except xlrd.XLRDError as exc:
        if "encrypted" in str(exc).lower():
            raise LoadError("the workbook is password-protected: save a copy without the "
                            "password and ingest that") from exc
        raise LoadError(f"not a readable .xls workbook ({exc}): open it in a spreadsheet "
                        "program and save it again") from exc
    except Exception as exc:  # noqa: BLE001  xlrd raises struct/index errors on damage
        raise LoadError(f"not a readable .xls workbook ({why(exc)}): open "
                        "it in a spreadsheet program and save it again") from exc
    try:
        out: list[Block] = []
        for i in range(book.nsheets):
            sheet = book.sheet_by_index(i)
            if getattr(sheet, "visibility", 0):
                continue
            rows = (_xls_row(book, sheet, r) for r in range(sheet.nrows))
            out.extend(table_blocks(f"sheet {sheet.name!r}", rows, heading=sheet.name))
        return _nonempty(out, "workbook")
    finally:
        book.release_resources()


def _xls_row(book, sheet, r: int) -> list[object]:
    import xlrd

    row: list[object] = []
    for cell in sheet.row(r):
        if cell.ctype == xlrd.XL_CELL_DATE:
            try:
                row.append(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))
            except (ValueError, OverflowError):
                row.append(cell.value)
        elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
            row.append(bool(cell.value))
        elif cell.ctype == xlrd.XL_CELL_ERROR:
            row.append(None)
        else:
            row.append(cell.value)
    return row


def csv_blocks(text: str, name: str = "") -> list[Block]:
    """A CSV (or semicolon-, tab- or bar-separated) file, headed by `name` (the file's
    name)."""
    try:
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(text))
        return _nonempty(table_blocks("the file", rows, heading=name or None), "file")
    except csv.Error as exc:
        raise LoadError(f"not a readable CSV file ({exc}): check its quoting") from exc


def delimiter(text: str) -> str:
    """The separator of a CSV file: of , ; tab and |, the one that splits its first lines
    into the same number of fields most often (then into the most fields); "," if none
    splits them. Not `csv.Sniffer`, whose regexes take time quadratic in the sample (16 kB
    of '"' and newlines: 28 s)."""
    head = text[:8_000].splitlines()[:20]
    best, best_score = ",", (0, 0)
    for candidate in ",;\t|":
        try:
            counts = [len(row) for row in csv.reader(head, delimiter=candidate)]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        score = (sum(c == counts[0] for c in counts), counts[0])
        if score > best_score:
            best, best_score = candidate, score
    return best


def _nonempty(blocks: list[Block], what: str) -> list[Block]:
    if not blocks:
        raise LoadError(f"the {what} holds no cells with text")
    return blocks
