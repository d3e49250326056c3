"""Tables in PDFs (ingest/pdf_tables.py, pdfplumber): real PDFs with ruled tables built with
fpdf2; the rows take the place of the table's lines in the page text, on their page."""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from ingest.clean import clean
from ingest.loaders import load_document
from ingest.pdf_tables import PageTable, _draws_enough, _open, find_tables, page_blocks_with_tables
from ingest.types import Block, page_at

DOSES = [("Drug", "Dose", "Note"),
         ("Pyridostigmine", "60 mg four times daily", "Take with food. Avoid alcohol."),
         ("3,4-Diaminopyridine", "10 mg three times daily", "")]
ROWS = ["Drug: Pyridostigmine; Dose: 60 mg four times daily; Note: Take with food. "
        "Avoid alcohol.", "Drug: 3,4-Diaminopyridine; Dose: 10 mg three times daily."]


def _pdf(pages: list[list[object]]) -> bytes:
    """Each page a list of paragraphs (str) and tables (list of row tuples)."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for page in pages:
        pdf.add_page()
        for part in page:
            if isinstance(part, str):
                pdf.multi_cell(0, 6, part)
            else:
                with pdf.table() as table:
                    for cells in part:  # type: ignore[union-attr]
                        row = table.row()
                        for cell in cells:
                            row.cell(cell)
            pdf.ln(4)
    return bytes(pdf.output())


INTRO = "Lambert-Eaton myasthenic syndrome is treated with drugs given below."
AFTER = "Text after the table continues here."


def test_a_ruled_table_becomes_rows_in_place_of_its_text(tmp_path: Path) -> None:
    data = _pdf([["A first page of plain text only."], [INTRO, DOSES, AFTER]])
    path = tmp_path / "doses.pdf"
    path.write_bytes(data)
    blocks = load_document(path, data).blocks
    assert [(b.kind, b.text, b.page) for b in blocks] == [
        ("para", "A first page of plain text only.", 1),
        ("para", INTRO, 2),
        ("row", ROWS[0], 2), ("row", ROWS[1], 2),
        ("para", AFTER, 2),
    ]  # and no "Drug Dose Note" / "Pyridostigmine 60 mg ..." line: the cells are read once
    doc = clean("doses.pdf", str(path), blocks)
    start = doc.text.index(ROWS[0])
    assert doc.text[start:start + len(ROWS[0])] == ROWS[0]
    assert page_at(doc.pages, start) == 2
    assert f"{ROWS[0]}\n{ROWS[1]}" in doc.text  # one a line


def test_a_page_without_drawings_is_not_laid_out_by_pdfplumber() -> None:
    data = _pdf([["Only text on this page."], [INTRO, DOSES]])
    doc = _open(data)
    assert not _draws_enough(doc.pages[0])
    assert _draws_enough(doc.pages[1])
    assert find_tables(data, 0) == []
    assert [b.text for b in find_tables(data, 1)[0].rows] == ROWS


def test_a_box_round_one_paragraph_is_not_a_table() -> None:
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    pdf.add_page()
    pdf.multi_cell(120, 8, "Warning: a boxed paragraph of advice.", border=1)
    with pdf.table() as table:  # one column: a list in boxes, not a table
        for cell in ("Aspirin", "Heparin", "Warfarin"):
            table.row().cell(cell)
    data = bytes(pdf.output())
    assert find_tables(data, 0) == []


def test_rows_follow_the_text_when_its_lines_are_not_found() -> None:
    table = PageTable((Block("A: x; B: y.", "row", page=1),), ("x", "y", "A", "B"),
                      (0, 0, 1, 1))

    def para(text: str) -> list[Block]:
        return [Block(t, "para", page=1) for t in text.split("\n") if t]

    out = page_blocks_with_tables("Some text.\nMore text.", [table], para)
    assert [b.text for b in out] == ["Some text.", "More text.", "A: x; B: y."]
    out = page_blocks_with_tables("Some text.\nA B\nx y\nMore text.", [table], para)
    assert [b.text for b in out] == ["Some text.", "A: x; B: y.", "More text."]


def test_an_unreadable_page_gives_no_tables_not_an_error() -> None:
    broken = b"%PDF-1.4 not really a pdf"
    assert find_tables(broken, 0) == [] and find_tables(broken, 1) == []
    assert _open(broken) is None  # opened (and failed) once, not once a page
    data = _pdf([["One page."]])
    assert find_tables(data, 5) == []  # no such page


def test_a_page_that_draws_thousands_of_lines_is_not_searched() -> None:
    """A vector chart: pdfplumber takes seconds on it and finds no table."""
    pdf = FPDF()
    pdf.add_page()
    for i in range(2100):
        pdf.line(10 + i % 190, 20, 10 + i % 190, 30 + i % 200)
    doc = _open(bytes(pdf.output()))
    assert not _draws_enough(doc.pages[0])


def test_merged_cells_span_their_rows_and_columns() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    with pdf.table() as table:
        row = table.row()
        for cell in ("Class", "Drug", "Dose"):
            row.cell(cell)
        row = table.row()
        row.cell("Anticoagulants", rowspan=2)
        row.cell("Heparin")
        row.cell("5000 units")
        row = table.row()
        row.cell("Warfarin")
        row.cell("5 mg")
        row = table.row()
        row.cell("Antiplatelets")
        row.cell("Aspirin 75 mg daily", colspan=2)
    (found,) = find_tables(bytes(pdf.output()), 0)
    assert [b.text for b in found.rows] == [
        "Class: Anticoagulants; Drug: Heparin; Dose: 5000 units.",
        "Class: Anticoagulants; Drug: Warfarin; Dose: 5 mg.",  # the merged cell, repeated
        "Class: Antiplatelets; Drug, Dose: Aspirin 75 mg daily."]


def test_a_table_continued_on_the_next_pages_keeps_its_header(tmp_path: Path) -> None:
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    pdf.add_page()
    with pdf.table(repeat_headings=0) as table:  # the header is not printed again
        for cells in [("Drug", "Dose"), *((f"Drug number {i}", f"{i} mg") for i in range(90))]:
            row = table.row()
            for cell in cells:
                row.cell(cell)
    data = bytes(pdf.output())
    path = tmp_path / "long.pdf"
    path.write_bytes(data)
    rows = [b for b in load_document(path, data).blocks if b.kind == "row"]
    assert len(rows) == 90 and {b.page for b in rows} == {1, 2, 3}  # two page breaks
    assert all(b.text == f"Drug: Drug number {i}; Dose: {i} mg." for i, b in enumerate(rows))
