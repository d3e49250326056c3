"""Small real files of each office format, built with the libraries that write them
(python-docx, python-pptx, openpyxl, xlwt, ebooklib; a notebook as plain JSON), and their
broken and password-protected forms."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

FACT = "Lambert-Eaton myasthenic syndrome is caused by antibodies against calcium channels."


def docx(path: Path) -> Path:
    import docx as python_docx

    doc = python_docx.Document()
    doc.add_heading("Neuromuscular disorders", level=0)  # the "Title" style
    doc.add_heading("Lambert-Eaton syndrome", level=1)
    doc.add_paragraph("The syndrome often comes with small cell lung cancer.")
    doc.add_heading("Cause", level=2)
    doc.add_paragraph(FACT)
    doc.add_paragraph("Proximal leg weakness", style="List Bullet")
    doc.add_paragraph("Dry mouth", style="List Bullet")
    doc.add_heading("Treatment", level=1)
    table = doc.add_table(rows=3, cols=2)
    for r, row in enumerate([("Drug", "Dose"), ("Amifampridine", "10 mg three times a day"),
                             ("Pyridostigmine", "60 mg")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    doc.save(path)
    return path


def pptx(path: Path) -> Path:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Lambert-Eaton syndrome"
    body = first.placeholders[1].text_frame
    body.text = "Proximal muscle weakness"
    item = body.add_paragraph()
    item.text = "Autonomic symptoms such as dry mouth"
    item.level = 1
    first.notes_slide.notes_text_frame.text = FACT
    second = deck.slides.add_slide(deck.slide_layouts[5])
    second.shapes.title.text = "Symptomatic treatment"
    table = second.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for r, row in enumerate([("Drug", "Dose"), ("Amifampridine", "10 mg three times a day"),
                             ("Pyridostigmine", "60 mg")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    deck.save(path)
    return path


ROWS = [("Drug", "Dose", "Indication"),
        ("Amifampridine", "10 mg three times a day", "Lambert-Eaton syndrome"),
        ("Pyridostigmine", 60, "myasthenia gravis"),
        ("Rituximab", None, "refractory autoimmune disease")]


def xlsx(path: Path, rows=ROWS, extra_sheet: bool = True) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Doses"
    for row in rows:
        sheet.append(list(row))
    if extra_sheet:
        other = book.create_sheet("Tests")
        other.append(["Test", "Finding"])
        other.append(["Repetitive nerve stimulation", "increment after exercise"])
    book.save(path)
    return path


def xls(path: Path) -> Path:
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Doses")
    for r, row in enumerate(ROWS):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value)
    book.save(str(path))
    return path


def encrypted_xls(path: Path) -> Path:
    """A real .xls whose first 2-byte record after BOF (InterfaceHdr, 0x00E1) is turned into
    FILEPASS (0x002F), the record by which Excel marks a workbook encrypted: the same size, so
    the OLE file stays valid."""
    data = bytearray(xls(path).read_bytes())
    at = data.find(b"\xe1\x00\x02\x00")
    assert at > 0, "xlwt output changed: no InterfaceHdr record"
    data[at:at + 2] = b"\x2f\x00"
    path.write_bytes(bytes(data))
    return path


def csv(path: Path) -> Path:
    path.write_text("Drug;Dose;Indication\n"
                    "Amifampridine;10 mg three times a day;Lambert-Eaton syndrome\n"
                    "Pyridostigmine;60 mg;myasthenia gravis\n", encoding="utf-8")
    return path


def epub(path: Path) -> Path:
    from ebooklib import epub as ebook

    book = ebook.EpubBook()
    book.set_identifier("citewise-test")
    book.set_title("Neuromuscular notes")
    book.set_language("en")
    one = ebook.EpubHtml(title="Chapter 1", file_name="chap1.xhtml", lang="en")
    one.content = ("<h1>Lambert-Eaton syndrome</h1><p>The syndrome often comes with small "
                   f"cell lung cancer.</p><h2>Cause</h2><p>{FACT}</p>")
    two = ebook.EpubHtml(title="Chapter 2", file_name="chap2.xhtml", lang="en")
    two.content = ("<h1>Myasthenia gravis</h1><p>Myasthenia gravis is caused by antibodies "
                   "against acetylcholine receptors.</p>")
    for chapter in (one, two):
        book.add_item(chapter)
    book.toc = (one, two)
    book.add_item(ebook.EpubNcx())
    book.add_item(ebook.EpubNav())
    book.spine = ["nav", one, two]
    ebook.write_epub(str(path), book)
    return path


def drm_epub(path: Path) -> Path:
    """A real EPUB with a META-INF/encryption.xml that encrypts its first chapter."""
    source = epub(path).read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            new.writestr(info, old.read(info.filename))
        new.writestr("META-INF/encryption.xml", (
            '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
            'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
            '<enc:CipherData><enc:CipherReference URI="EPUB/chap1.xhtml"/></enc:CipherData>'
            '</enc:EncryptedData></encryption>'))
    path.write_bytes(out.getvalue())
    return path


def ipynb(path: Path) -> Path:
    notebook = {
        "nbformat": 4, "nbformat_minor": 5, "metadata": {},
        "cells": [
            {"cell_type": "markdown", "metadata": {},
             "source": ["# Lambert-Eaton syndrome\n", "\n", "## Cause\n", "\n", FACT + "\n"]},
            {"cell_type": "code", "metadata": {}, "execution_count": 1,
             "source": ["import secret_module\n", "print('Median age at onset: 60 years.')"],
             "outputs": [{"output_type": "stream", "name": "stdout",
                          "text": ["Median age at onset: 60 years.\n"]}]},
        ],
    }
    path.write_text(json.dumps(notebook), encoding="utf-8")
    return path


BUILDERS = {".docx": docx, ".pptx": pptx, ".xlsx": xlsx, ".xls": xls, ".csv": csv,
            ".epub": epub, ".ipynb": ipynb}


def encrypted_ooxml(path: Path, plain: Path) -> Path:
    """`plain` (.docx/.pptx/.xlsx) encrypted with a password, as Office does it."""
    from msoffcrypto.format.ooxml import OOXMLFile

    with plain.open("rb") as source, path.open("wb") as target:
        OOXMLFile(source).encrypt("secret", target)
    return path


def truncated(path: Path, plain: Path) -> Path:
    """The first half of a real file: a damaged download."""
    data = plain.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path
