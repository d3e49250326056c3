"""Tables as text: one block per row, each cell named by its column header.

The one home of the row rule, for every format that has tables (HTML `<table>`, Markdown
pipe tables, PDF tables, spreadsheets, CSV): a row reads "Drug: Aspirin; Dose: 75 mg." so
that it is retrievable and citable on its own, with the header that gives its cells their
meaning.

- `row_text` / `row_blocks`: the rule itself, for a header and rows already laid out.
- `grid_blocks`: a table as its reader saw it (`Cell`s with row and column spans, which
  rows are header rows) laid out and turned into rows. A cell spanning rows is repeated in
  each row it spans (each row must stand alone); a cell spanning columns is named by the
  headers of all its columns; two header rows name a column "Dose (adult)"; a header row
  in the body (all its cells header cells) names the rows after it; a row of one cell
  spanning the table (a group label such as "Anticoagulants") is a row of its own text.
- Header rows: those the format marks (`<thead>`, rows of `<th>`, a Markdown table's first
  row); otherwise the first row when it `looks_like_header`; otherwise none, and a row is
  its cells joined by "; ".
- `is_row_line`: a line of cleaned text written by this rule (cells joined by "; ", each
  after the first named, two or more named) is one sentence (`ingest.sentences`), so a
  cell that holds "Take with food. Avoid alcohol." does not cut its row in two.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ingest.types import Block

MAX_CELL = 240  # longest cell of a line read as a row (`is_row_line`)
MAX_SPAN = 64  # a colspan/rowspan above this is read as this (hostile input: colspan=10^9)


def _cell(value: object) -> str:
    return " ".join(str(value if value is not None else "").split())


def row_text(header: Sequence[object], cells: Sequence[object]) -> str:
    """"Column: value; Column: value." for one row; a cell with no header (or a header
    with no cell) is kept by its own text; empty cells are left out. "" for an empty row."""
    parts = []
    for i, value in enumerate(cells):
        text = _cell(value)
        if not text:
            continue
        name = _cell(header[i]) if i < len(header) else ""
        parts.append(f"{name}: {text}" if name and name != text else text)
    if not parts:
        return ""
    line = "; ".join(parts)
    return line if line.endswith((".", "?", "!")) else line + "."


def row_blocks(header: Sequence[object], rows: Sequence[Sequence[object]]) -> list[Block]:
    """One `row` block per non-empty row."""
    return [Block(text, "row") for row in rows if (text := row_text(header, row))]


# -- tables with spans and header rows ------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """One cell as a reader found it: its text, spans and whether the format marked it a
    header cell (`<th>`)."""

    text: str
    colspan: int = 1
    rowspan: int = 1
    header: bool = False


_NUMERIC = re.compile(r"[\d.,:;%<>=±+\-–/ ]+(?:[a-zA-Zµμ/]{1,6})?\.?")


def looks_like_header(cells: Sequence[str]) -> bool:
    """Could these cells (a table's first row, unmarked) be column names? Two or more
    non-empty cells, each short (at most 8 words) and not a figure ("75 mg", "12%"), none
    ending a sentence, no two alike."""
    names = [_cell(c) for c in cells if _cell(c)]
    return (len(names) >= 2 and len(set(names)) == len(names)
            and all(len(n.split()) <= 8 and not _NUMERIC.fullmatch(n)
                    and not n.endswith((".", "!", "?")) for n in names))


@dataclass(frozen=True)
class _Placed:
    first: int  # first column
    last: int  # last column (inclusive)
    text: str
    header: bool


def _layout(rows: Sequence[Sequence[Cell]]) -> list[list[_Placed]]:
    """Each row's cells at their columns, cells spanning rows repeated below."""
    out: list[list[_Placed]] = []
    carried: dict[int, tuple[int, _Placed]] = {}  # first column -> (rows left, cell)
    for row in rows:
        if not carried and all(c.colspan == 1 and c.rowspan == 1 for c in row):  # most rows
            out.append([_Placed(i, i, _cell(c.text), c.header) for i, c in enumerate(row)])
            continue
        placed: list[_Placed] = []
        col = 0
        seen: set[int] = set()
        spanning: list[tuple[int, _Placed]] = []

        def carry_at(col: int, placed: list[_Placed] = placed, seen: set[int] = seen) -> int:
            while col in carried and col not in seen:
                seen.add(col)
                cell = carried[col][1]
                placed.append(cell)
                col = cell.last + 1
            return col

        for cell in row:
            col = carry_at(col)
            span = min(max(cell.colspan, 1), MAX_SPAN)
            here = _Placed(col, col + span - 1, _cell(cell.text), cell.header)
            placed.append(here)
            if min(cell.rowspan, MAX_SPAN) > 1:
                spanning.append((min(cell.rowspan, MAX_SPAN) - 1, here))
            col += span
        for first in sorted(c for c in carried if c >= col):
            carry_at(first)
        for first, (left, held) in list(carried.items()):  # counts down, placed or not
            if left <= 1:
                del carried[first]
            else:
                carried[first] = (left - 1, held)
        for left, here in spanning:
            carried.setdefault(here.first, (left, here))
        placed.sort(key=lambda c: c.first)
        out.append(placed)
    return out


def _names(header_rows: Sequence[Sequence[_Placed]]) -> dict[int, str]:
    """Column -> name: "Dose" over "Adult" gives "Dose (adult)"."""
    parts: dict[int, list[str]] = {}
    for row in header_rows:
        for cell in row:
            for col in range(cell.first, cell.last + 1):
                got = parts.setdefault(col, [])
                if cell.text and cell.text not in got:
                    got.append(cell.text)
    names = {}
    for col, got in parts.items():
        if got:
            rest = ", ".join(g[:1].lower() + g[1:] if not g[:2].isupper() else g
                             for g in got[1:])
            names[col] = f"{got[0]} ({rest})" if rest else got[0]
    return names


def _name(names: dict[int, str], cell: _Placed) -> str:
    if cell.first == cell.last:
        return names.get(cell.first, "")
    got: list[str] = []
    for col in range(cell.first, cell.last + 1):
        name = names.get(col, "")
        if name and name not in got:
            got.append(name)
    return ", ".join(got)


def grid_blocks(rows: Sequence[Sequence[Cell]], header_rows: int | None = None) -> list[Block]:
    """The row blocks of a table. `header_rows`: how many leading rows are the header, as
    the format marks it (a Markdown table: 1); None: leading rows of header cells only,
    else the first row if it `looks_like_header`."""
    grid = _layout(rows)
    if header_rows is None:
        grid = [row for row in grid if any(c.text for c in row)]
        header_rows = 0
        while header_rows < len(grid) - 1 and all(c.header for c in grid[header_rows]):
            header_rows += 1
        if not header_rows and len(grid) > 1 and looks_like_header([c.text for c in grid[0]]):
            header_rows = 1
    names = _names(grid[:header_rows])
    body = [row for row in grid[header_rows:] if any(c.text for c in row)]
    if not body:
        return []
    width = max(c.last for row in grid for c in row if c.text) + 1
    out: list[Block] = []
    for row in body:
        full = [c for c in row if c.text]
        if len(full) == 1 and full[0].first == 0 and full[0].last >= width - 1 > 0:
            out.append(Block(row_text([], [full[0].text]), "row"))  # a group label
            continue
        if len(full) > 1 and all(c.header for c in row):
            names = _names([row])  # a header row inside the body names the rows below
            continue
        text = row_text([_name(names, c) for c in row], [c.text for c in row])
        if text:
            out.append(Block(text, "row"))
    return out


# -- a row in cleaned text ---------------------------------------------------------------

# A named cell: a short name without sentence stops, then ": ".
_NAMED = re.compile(r"[^\n:;.!?]{1,60}: ")


def is_row_line(text: str, start: int, end: int) -> bool:
    """Is `text[start:end]` (one line) a table row as `row_text` writes it: cells joined
    by "; ", every cell after the first named ("Name: value"), two or more named, none
    longer than `MAX_CELL` characters, and an unnamed first cell short, as a row's label
    is? Prose with semicolons is not (a structured abstract's "RESULTS: ...; 95% CI: ..."
    is a paragraph, not cells)."""
    cells = text[start:end].split("; ")
    if len(cells) < 2 or not all(_NAMED.match(c) for c in cells[1:]) \
            or any(len(c) > MAX_CELL for c in cells):
        return False
    if _NAMED.match(cells[0]):
        return True
    # An unnamed first cell (the header's corner was empty) is a row's label: short.
    return len(cells) > 2 and len(cells[0]) <= 60 and ". " not in cells[0]


def has_named_cell(text: str) -> bool:
    """Does this row name a cell by its header ("Dose: 75 mg")? Rows of a table with no
    header do not, and are cleaned like any other line (`ingest.clean`)."""
    cells = text.split("; ")
    return any(_NAMED.match(c) for c in cells)
