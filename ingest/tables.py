"""Tables as text: one block per row, each cell named by its column header.

The one home of the row rule, for every format that has tables (HTML `<table>`, Markdown
pipe tables, PDF tables, spreadsheets, CSV): a row reads "Drug: Aspirin; Dose: 75 mg." so
that it is retrievable and citable on its own, with the header that gives its cells their
meaning.
"""

from __future__ import annotations

from collections.abc import Sequence

from ingest.types import Block


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
