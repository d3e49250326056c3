"""Tables in HTML and Markdown become one `row` block per row (ingest/tables.py): header
rules, spans, captions, nested and layout tables, empty cells; and rows through cleaning
and sentence splitting."""

from __future__ import annotations

from ingest.chunking import ChunkerSettings, chunk_document, chunk_sentences
from ingest.clean import clean
from ingest.html_text import html_blocks
from ingest.markdown_text import blocks as markdown_blocks
from ingest.sentences import split_sentences
from ingest.tables import Cell, grid_blocks, is_row_line, looks_like_header
from ingest.types import Block


def rows(blocks: list[Block]) -> list[str]:
    return [b.text for b in blocks if b.kind == "row"]


# -- HTML ---------------------------------------------------------------------------------

def test_html_thead_names_each_cell_and_caption_is_a_heading() -> None:
    page = ("<h2>Treatment</h2><p>Drugs used in LEMS.</p><table><caption>Table 1. Doses"
            "</caption><thead><tr><th>Drug</th><th>Dose</th></tr></thead><tbody>"
            "<tr><td>Pyridostigmine</td><td>60 mg <b>four</b> times daily</td></tr>"
            "<tr><td>3,4-Diaminopyridine</td><td><p>10 mg.</p><p>Take with food.</p></td></tr>"
            "</tbody></table><p>After the table.</p>")
    blocks = html_blocks(page)
    assert [(b.kind, b.text) for b in blocks] == [
        ("heading", "Treatment"), ("para", "Drugs used in LEMS."),
        ("heading", "Table 1. Doses"),
        ("row", "Drug: Pyridostigmine; Dose: 60 mg four times daily."),
        ("row", "Drug: 3,4-Diaminopyridine; Dose: 10 mg. Take with food."),
        ("para", "After the table."),
    ]
    assert blocks[2].level == 3  # one below the section the table is in


def test_html_th_rows_without_thead_and_omitted_end_tags() -> None:
    page = ("<table><tr><th>Antibody<th>Associated tumour"
            "<tr><td>Anti-Hu<td>Small cell lung cancer"
            "<tr><td>Anti-Yo<td>Ovarian or breast cancer</table>")
    assert rows(html_blocks(page)) == [
        "Antibody: Anti-Hu; Associated tumour: Small cell lung cancer.",
        "Antibody: Anti-Yo; Associated tumour: Ovarian or breast cancer."]


def test_html_first_row_is_the_header_only_when_it_looks_like_one() -> None:
    named = "".join(f"<tr><td>{a}</td><td>{b}</td><td>{c}</td></tr>" for a, b, c in [
        ("Drug", "Dose", "Route"), ("Aspirin", "75 mg", "oral"), ("Heparin", "5000 units", "sc"),
        ("Warfarin", "5 mg", "oral"), ("Enoxaparin", "40 mg", "sc")])
    assert rows(html_blocks(f"<table>{named}</table>"))[0] == \
        "Drug: Aspirin; Dose: 75 mg; Route: oral."
    data = "".join(f"<tr><td>{a}</td><td>{b}</td><td>{c}</td></tr>" for a, b, c in [
        ("Aspirin", "75 mg", "oral"), ("Heparin", "5000 units", "sc"),
        ("Warfarin", "5 mg", "oral"), ("Enoxaparin", "40 mg", "sc")])
    assert rows(html_blocks(f"<table>{data}</table>")) == [
        "Aspirin; 75 mg; oral.", "Heparin; 5000 units; sc.", "Warfarin; 5 mg; oral.",
        "Enoxaparin; 40 mg; sc."]  # "Aspirin: Heparin" would be wrong: no header


def test_header_heuristic() -> None:
    assert looks_like_header(["Drug", "Dose", ""])
    assert not looks_like_header(["Aspirin", "75 mg"])  # a figure is data
    assert not looks_like_header(["Take with food.", "Daily"])  # a sentence is data
    assert not looks_like_header(["Dose", "Dose"])
    assert not looks_like_header(["Drug"])


def test_html_layout_tables_are_read_as_their_cells_not_rows() -> None:
    """Old sites laid pages out in tables: a menu cell beside the text cell must not turn
    into a "row" "Home; About us; The text of the page ..."."""
    old_site = ("<table width=100%><tr><td><a href=/>Home</a><br><a href=/a>About</a></td>"
                "<td><h1>Myasthenia gravis</h1><p>Myasthenia gravis is an autoimmune disease."
                "</p><table><tr><td>Aspirin</td><td>75 mg</td></tr></table></td></tr></table>")
    blocks = html_blocks(old_site)
    assert not rows(blocks)
    assert [b.text for b in blocks] == ["Home About", "Myasthenia gravis",
                                        "Myasthenia gravis is an autoimmune disease.",
                                        "Aspirin", "75 mg"]
    presentation = ("<table role=presentation><tr><th>A</th><th>B</th></tr>"
                    "<tr><td>x</td><td>y</td></tr></table>")
    assert not rows(html_blocks(presentation))
    one_row = "<table><tr><td>Left column text.</td><td>Right column text.</td></tr></table>"
    assert [b.kind for b in html_blocks(one_row)] == ["para", "para"]


def test_html_data_table_nested_in_a_layout_table_is_read_as_rows() -> None:
    page = ("<table><tr><td><p>Page text.</p><table><tr><th>Drug</th><th>Dose</th></tr>"
            "<tr><td>Aspirin</td><td>75 mg</td></tr></table></td><td>Sidebar</td></tr></table>")
    blocks = html_blocks(page)
    assert rows(blocks) == ["Drug: Aspirin; Dose: 75 mg."]
    assert "Sidebar" in [b.text for b in blocks] and "Page text." in [b.text for b in blocks]


def test_html_row_and_column_spans() -> None:
    page = ("<table><thead><tr><th rowspan=2>Drug</th><th colspan=2>Dose</th></tr>"
            "<tr><th>Adult</th><th>Child</th></tr></thead>"
            "<tr><td rowspan='2'>Aspirin</td><td>75 mg</td><td>Not advised</td></tr>"
            "<tr><td colspan=\"2\">300 mg loading dose</td></tr>"
            "<tr><td colspan=3>Anticoagulants</td></tr>"
            "<tr><td>Heparin</td><td></td><td>Weight based</td></tr></table>")
    assert rows(html_blocks(page)) == [
        "Drug: Aspirin; Dose (adult): 75 mg; Dose (child): Not advised.",
        "Drug: Aspirin; Dose (adult), Dose (child): 300 mg loading dose.",  # rowspan repeats
        "Anticoagulants.",  # a group label spanning the table
        "Drug: Heparin; Dose (child): Weight based.",  # the empty cell left out
    ]


def test_html_hostile_spans_are_capped() -> None:
    page = ("<table><tr><th>A</th><th>B</th></tr><tr><td colspan=99999>x</td></tr>"
            + "<tr><td>y</td><td>z</td></tr>" * 3 + "</table>")
    assert rows(html_blocks(page)) == ["x.", "A: y; B: z.", "A: y; B: z.", "A: y; B: z."]
    tall = ("<table><tr><th>A</th><th>B</th></tr><tr><td rowspan=99999>x</td><td>1</td></tr>"
            + "<tr><td>2</td></tr>" * 3 + "</table>")
    assert rows(html_blocks(tall)) == ["A: x; B: 1.", "A: x; B: 2.", "A: x; B: 2.",
                                       "A: x; B: 2."]  # repeated in the rows there are
    absurd = "<table><tr><th>A</th><th>B</th></tr><tr><td colspan=1000000>x</td></tr></table>"
    assert rows(html_blocks(absurd)) == ["A: x."]  # a span of 7+ digits is read as 1


def test_html_text_in_a_table_but_in_no_cell_is_kept_above_the_rows() -> None:
    page = ("<table>Stray words<caption>Doses</caption><tr><th>A</th><th>B</th></tr>"
            "<tr><td>x</td><td>y</td></tr></table>")
    assert [(b.kind, b.text) for b in html_blocks(page)] == [
        ("heading", "Doses"), ("para", "Stray words"), ("row", "A: x; B: y.")]


def test_html_table_in_a_dropped_element_is_dropped() -> None:
    page = ("<body><nav><table><tr><th>Menu</th><th>Go</th></tr><tr><td>a</td><td>b</td>"
            "</tr></table></nav><p>Body text.</p></body>")
    assert [b.text for b in html_blocks(page)] == ["Body text."]


def test_html_deeply_nested_tables_are_read() -> None:
    """Linear in the depth (2.8 s for 20,000 here; the first version was quadratic, 75 s):
    the hostile-input corpus reads it within a budget; no time is asserted here."""
    n = 20_000
    page = "<table><tr><td>" * n + "Deep cell text." + "</td></tr></table>" * n
    assert [b.text for b in html_blocks(page)] == ["Deep cell text."]


# -- Markdown -----------------------------------------------------------------------------

def test_markdown_pipe_table_rows_named_by_the_header_row() -> None:
    md = ("# LEMS\n\nDrugs:\n\n| Drug | Dose | Note |\n|---|---|---|\n"
          "| Pyridostigmine | 60 mg | **Take** with food. Avoid alcohol. |\n"
          "| 3,4-DAP | | [see the label](http://x) |\n\nAfter.\n")
    assert [(b.kind, b.text) for b in markdown_blocks(md)] == [
        ("heading", "LEMS"), ("para", "Drugs:"),
        ("row", "Drug: Pyridostigmine; Dose: 60 mg; Note: Take with food. Avoid alcohol."),
        ("row", "Drug: 3,4-DAP; Note: see the label."),
        ("para", "After."),
    ]


def test_markdown_table_with_an_empty_header_row_keeps_its_cells() -> None:
    assert rows(markdown_blocks("| | |\n|--|--|\n| a | b |\n")) == ["a; b."]


# -- the row rule with spans, directly ----------------------------------------------------

def test_grid_header_row_inside_the_body_names_the_rows_below() -> None:
    t = [[Cell("Drug", header=True), Cell("Dose", header=True)],
         [Cell("Aspirin"), Cell("75 mg")],
         [Cell("Drug (child)", header=True), Cell("Dose (child)", header=True)],
         [Cell("Aspirin"), Cell("Not advised")]]
    assert [b.text for b in grid_blocks(t)] == [
        "Drug: Aspirin; Dose: 75 mg.", "Drug (child): Aspirin; Dose (child): Not advised."]


# -- rows through cleaning and sentence splitting ------------------------------------------

def _doc(blocks: list[Block], repeated: set[str] | None = None):
    return clean("t.html", "t.html", blocks, repeated=repeated)


def test_a_row_is_one_sentence_and_two_rows_never_join() -> None:
    blocks = [Block("Doses", "heading", 2),
              Block("Drug: Pyridostigmine; Note: Take with food. Avoid alcohol.", "row"),
              Block("Drug: Amifampridine; Note: Check the ECG. Reduce in renal failure.", "row")]
    doc = _doc(blocks)
    sentences = [doc.text[s:e] for s, e in split_sentences(doc.text)]
    assert sentences == ["Doses", blocks[1].text, blocks[2].text]
    chunks = chunk_document(doc, lambda t: len(t.split()), ChunkerSettings(160, 32))
    assert [s.text for s in chunk_sentences(chunks)] == [blocks[1].text, blocks[2].text]
    assert all(doc.text[s.start:s.end] == s.text for s in chunk_sentences(chunks))
    # Prose with the same stops still splits, semicolons and colons or not.
    assert len(split_sentences("Take with food. Avoid alcohol.")) == 2
    abstract = ("RESULTS: Of the 80 patients, 92.5% were adherent (acceptable agreement; "
                "Kappa: 0.31, P=.004). Most patients (83.3%) with a positive test were "
                "negative for antibodies in the latest determination; " + "x " * 100
                + "Age: older. Time of onset was associated with adherence.")
    assert not is_row_line(abstract, 0, len(abstract))
    assert len(split_sentences(abstract)) == 3
    assert is_row_line("Aspirin; Dose: 75 mg; Note: x. Y.", 0, 33)  # first column unnamed
    assert not is_row_line("Aspirin; Dose: 75 mg.", 0, 21)  # one named cell: no stop to keep


def test_rows_survive_cleaning_that_would_drop_such_lines() -> None:
    row = "Drug: Pyridostigmine; Dose: 60 mg."
    reader = "Drug: Pyridostigmine; If you miss a dose: take it when you remember."
    blocks = [Block("Doses", "heading", 2), Block(row, "row"), Block(reader, "row"),
              Block("Drug: Amifampridine; Dose: 10 mg.", "row"), Block(row, "row")]
    doc = _doc(blocks, repeated={"drug pyridostigmine dose 60 mg"})
    assert doc.text.count(row) == 1  # kept though repeated across documents; the copy goes
    assert reader in doc.text  # a row addressing the reader is data
    assert _doc([Block("A: x; Cookies: we use cookies to improve the site.", "row"),
                 Block("Some text.")]).text == "Some text."  # marketing is still dropped


def test_rows_of_a_table_without_header_are_cleaned_like_lines() -> None:
    nav = "Home; News; Contact."
    doc = _doc([Block(nav, "row"), Block("Body text of the page.")], repeated={"home news contact"})
    assert nav not in doc.text
