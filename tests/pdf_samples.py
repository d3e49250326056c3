"""Real PDFs built for the tests: fpdf2 writes them, pypdf's writer encrypts or breaks them."""

from __future__ import annotations

import io

# Four pages; every sentence occurs on one page only, so a sentence's page can be checked
# against the PDF itself. Page 3's last paragraph goes on at the top of page 4.
PAGES: list[list[str]] = [
    ["Lambert-Eaton myasthenic syndrome",
     "Lambert-Eaton myasthenic syndrome is a rare autoimmune disorder of the neuromuscular "
     "junction. Antibodies against voltage-gated calcium channels reduce the release of "
     "acetylcholine from the nerve terminal.",
     "About half of the patients have an underlying small cell lung cancer."],
    ["Clinical features",
     "Proximal leg weakness is the most common first symptom. Strength briefly improves "
     "after sustained exercise, which is called facilitation.",
     "Dry mouth and constipation reflect autonomic involvement."],
    ["Treatment",
     "Amifampridine prolongs depolarisation of the nerve terminal and improves muscle "
     "strength in most patients. Treatment of an associated tumour often improves the "
     "weakness as well. Intravenous immunoglobulin gives a short benefit that lasts"],
    ["about six weeks in responders. Plasma exchange is reserved for severe weakness.",
     "Prognosis depends mostly on the associated cancer."],
]


def make_pdf(pages: list[list[str]] | None = None) -> bytes:
    """A PDF with one page per item, each paragraph written as its own block of lines."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(False)
    pdf.set_font("helvetica", size=11)
    for paragraphs in PAGES if pages is None else pages:
        pdf.add_page()
        for paragraph in paragraphs:
            pdf.multi_cell(0, 6, paragraph)
            pdf.ln(6)
    return bytes(pdf.output())


def many_pages(n: int) -> bytes:
    """A PDF of `n` pages of distinct text (the 500-page case)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for i in range(1, n + 1):
        pdf.add_page()
        pdf.multi_cell(0, 6, f"Section {i}. Patient record {i} describes a visit on day {i}. "
                             f"The dose of drug number {i} was {i % 50 + 1} mg twice daily. "
                             "Weakness, fatigue and dry mouth were noted at the visit.")
    return bytes(pdf.output())


def blank_pages(n: int) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    for _ in range(n):
        pdf.add_page()
    return bytes(pdf.output())


def encrypted(data: bytes, user_password: str) -> bytes:
    """`data` encrypted (AES-256) with this user password ("" opens without asking)."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password, "owner-secret", algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def with_broken_page(data: bytes, index: int) -> bytes:
    """`data` with page `index` (0-based) made unreadable: its content stream is declared
    in a compression the parser does not know, so extracting its text raises."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject, StreamObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    stream = StreamObject()
    stream.set_data(b"not a content stream")
    stream[NameObject("/Filter")] = NameObject("/NoSuchFilter")
    writer.pages[index][NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zero_pages() -> bytes:
    from pypdf import PdfWriter

    out = io.BytesIO()
    PdfWriter().write(out)
    return out.getvalue()


def page_texts(data: bytes) -> list[str]:
    """Each page's text as pypdf extracts it, whitespace collapsed: the test's own oracle."""
    from pypdf import PdfReader

    return [" ".join((p.extract_text() or "").split()) for p in PdfReader(io.BytesIO(data)).pages]
