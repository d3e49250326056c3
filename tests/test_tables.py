"""The row rule (ingest/tables.py): one block per row, each cell named by its header."""

from ingest.clean import clean
from ingest.tables import row_blocks, row_text


def test_a_row_names_each_cell_by_its_header():
    assert row_text(["Drug", "Dose"], ["Aspirin", "75 mg"]) == "Drug: Aspirin; Dose: 75 mg."


def test_empty_cells_and_empty_rows_are_left_out():
    assert row_text(["Drug", "Dose", "Note"], ["Aspirin", "", None]) == "Drug: Aspirin."
    assert row_blocks(["A", "B"], [["", " "], ["x", "y"]])[0].text == "A: x; B: y."
    assert len(row_blocks(["A", "B"], [["", " "], ["x", "y"]])) == 1


def test_a_cell_past_the_header_keeps_its_own_text():
    assert row_text(["Drug"], ["Aspirin", "daily"]) == "Drug: Aspirin; daily."


def test_rows_are_one_a_line_in_the_cleaned_text():
    blocks = row_blocks(["Drug", "Dose"], [["Aspirin", "75 mg"], ["Heparin", "5000 units"]])
    doc = clean("t.csv", "t.csv", blocks)
    assert "Drug: Aspirin; Dose: 75 mg.\nDrug: Heparin; Dose: 5000 units." in doc.text
