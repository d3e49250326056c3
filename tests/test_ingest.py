"""Tests of the ingest package: loaders, boilerplate cleaning, sentence spans, chunking.

No network and no model: tokens are counted with a fake counter (words + 2), and every
sample file is written into pytest's tmp_path at test time. Several tests guard against
bugs found while writing them (broken PDFs, nested HTML, chunk overlap, "US" vs "us").
"""

from __future__ import annotations

import dataclasses
import io
from functools import cache
from pathlib import Path

import pytest
from pypdf import PdfWriter

from ingest.chunking import ChunkerSettings, chunk_document, chunk_sentences
from ingest.clean import clean, repeated_lines
from ingest.errors import LoadError
from ingest.loaders import Block, load
from ingest.sentences import split_sentences
from ingest.types import Chunk, SourceDoc

# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "data" / "sources"
DEFAULT_FILES = ["000_ca9eb5d6de5c83e8.txt", "004_5e456227b6f932b4.txt"]

SMALL = ChunkerSettings(chunk_tokens=40, overlap_tokens=10, max_tokens=60)
SETTINGS = [pytest.param(SMALL, id="small"), pytest.param(ChunkerSettings(), id="default")]

# Site chrome of the default sources: none of it may survive cleaning.
BOILERPLATE_PHRASES = [
    "This article on Epainassist.com has been reviewed",
    "We follow a strict editorial policy",
    "Was this Article Helpful",
    "This article does not provide medical advice",
    "Also Read",
    "Team PainAssist",
    "Last Modified On",
    "Recent Posts",
    "Related Posts",
    "Medical Advisory Board",
    "Educational purpose only",
    "Article Review Status",
    "Last updated",
    "Personalize",
    "Help us tailor your experience",
    "Which best describes you?",
    "Professional Medical Disclaimer",
    "Dr.Oracle assumes no liability",
    "Have a follow-up question?",
    "Our Medical A.I. is used by",
]
SHORT_BOILERPLATE_LINES = {"Submitted", "Under Review", "Approved", "From the Research"}
DISCLAIMER_START = "This information is intended for healthcare professionals"


def count_tokens(text: str) -> int:
    """Deterministic stand-in for the embedder's tokenizer."""
    return len(text.split()) + 2


def collapse(text: str) -> str:
    return " ".join(text.split())


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def load_file(tmp_path: Path, name: str, data: bytes | str) -> list[Block]:
    return load(write(tmp_path, name, data))


def clean_text(tmp_path: Path, text: str, name: str = "doc.txt") -> SourceDoc:
    path = write(tmp_path, name, text)
    return clean(name, str(path), load(path))


@cache
def source_doc(name: str) -> SourceDoc:
    """A default source, loaded and cleaned as ingest does it (no corpus-repeated lines)."""
    path = SOURCES / name
    return clean(name, str(path), load(path))


def is_boilerplate_line(line: str) -> bool:
    return (
        any(phrase in line for phrase in BOILERPLATE_PHRASES)
        or line in SHORT_BOILERPLATE_LINES
        or line.startswith(DISCLAIMER_START)
    )


def body_lines(name: str) -> list[str]:
    """Every raw line of a default source that is article text, bullet and spaces removed."""
    out = []
    for raw in (SOURCES / name).read_text(encoding="utf-8").splitlines():
        line = collapse(raw.replace("\xa0", " ").strip().removeprefix("• "))
        if line and not is_boilerplate_line(line):
            out.append(line)
    return out


def blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def chunks_of(doc: SourceDoc, settings: ChunkerSettings) -> list[Chunk]:
    return chunk_document(doc, count_tokens, settings)


def section_index(doc: SourceDoc, pos: int) -> int:
    """How many headings end at or before `pos`: equal for positions in one section."""
    return sum(h.end <= pos for h in doc.headings)


def body_sentences(doc: SourceDoc) -> list[tuple[int, int]]:
    heading_spans = {(h.start, h.end) for h in doc.headings}
    return [span for span in split_sentences(doc.text) if span not in heading_spans]


# ---------------------------------------------------------------------------------------------
# 1. Loaders
# ---------------------------------------------------------------------------------------------

# .txt: one block per non-blank line; bullet and numbered lines become items.


def test_txt_lines_and_bullets(tmp_path: Path) -> None:
    text = "Intro paragraph.\n\n  • first item\n  • second item\n- dash item\n2. numbered\n\nEnd.\n"
    assert load_file(tmp_path, "a.txt", text) == [
        Block("Intro paragraph.", "para"),
        Block("first item", "item"),
        Block("second item", "item"),
        Block("dash item", "item"),
        Block("numbered", "item"),
        Block("End.", "para"),
    ]


# .md: headings keep their level, links and images keep their text, code is skipped.


def test_markdown_blocks(tmp_path: Path) -> None:
    text = (
        "# Lambert-Eaton syndrome\n\n"
        "See [the review](https://example.org/lems) and ![a nerve diagram](nerve.png) now.\n\n"
        "## Causes ##\n\n"
        "```python\nprint('alert')\n```\n\n"
        "- small cell lung cancer\n"
        "* thymoma\n\n"
        "---\n\n"
        "###### Deep heading\n\n"
        "**Bold** text stays.\n"
    )
    assert load_file(tmp_path, "a.md", text) == [
        Block("Lambert-Eaton syndrome", "heading", 1),
        Block("See the review and a nerve diagram now.", "para"),
        Block("Causes", "heading", 2),
        Block("small cell lung cancer", "item"),
        Block("thymoma", "item"),
        Block("Deep heading", "heading", 6),
        Block("Bold text stays.", "para"),
    ]


def test_markdown_extension_alias(tmp_path: Path) -> None:
    assert load_file(tmp_path, "a.markdown", "## Title\n\nBody.\n") == [
        Block("Title", "heading", 2), Block("Body.", "para")]


def test_markdown_wrapped_paragraph_is_one_block(tmp_path: Path) -> None:
    text = "Paraneoplastic syndromes are rare but\nwell described in lung cancer.\n\nNext.\n"
    assert load_file(tmp_path, "a.md", text) == [
        Block("Paraneoplastic syndromes are rare but well described in lung cancer.", "para"),
        Block("Next.", "para"),
    ]


# .html: chrome dropped, headings keep their level, li become items.

PAGE = """<!doctype html>
<html><head><title>Site title</title><style>p { color: red }</style>
<script>alert(1)</script></head>
<body>
<header>Site header</header>
<nav><ul><li>Home</li><li>About</li></ul></nav>
<h1>Myasthenia gravis</h1>
<p>Weakness <b>worsens</b> with use.<script>alert(1)</script></p>
<h3>Treatment</h3>
<ul><li>Pyridostigmine</li><li>Thymectomy <script>alert(1)</script></li></ul>
<aside>Advert</aside>
<footer>Copyright footer</footer>
</body></html>
"""


def test_html_blocks(tmp_path: Path) -> None:
    assert load_file(tmp_path, "a.html", PAGE) == [
        Block("Myasthenia gravis", "heading", 1),
        Block("Weakness worsens with use.", "para"),
        Block("Treatment", "heading", 3),
        Block("Pyridostigmine", "item"),
        Block("Thymectomy", "item"),
    ]


@pytest.mark.parametrize("level", range(1, 7))
def test_html_heading_levels(tmp_path: Path, level: int) -> None:
    blocks = load_file(tmp_path, "a.htm", f"<body><h{level}>Level</h{level}><p>Body.</p></body>")
    assert blocks[0] == Block("Level", "heading", level)


@pytest.mark.parametrize("where", ["head", "body", "paragraph", "list item", "nav", "unclosed"])
def test_html_script_text_never_appears(tmp_path: Path, where: str) -> None:
    script = "<script>alert(1)</script>"
    parts = {
        "head": f"<html><head>{script}</head><body><p>Body.</p></body></html>",
        "body": f"<body>{script}<p>Body.</p></body>",
        "paragraph": f"<body><p>Body {script} text.</p></body>",
        "list item": f"<body><ul><li>Item {script}</li></ul><p>Body.</p></body>",
        "nav": f"<body><nav><p>Menu {script}</p></nav><p>Body.</p></body>",
        "unclosed": "<body><p>Body.</p><script>alert(1)",
    }
    blocks = load_file(tmp_path, "a.html", parts[where])
    joined = " ".join(b.text for b in blocks)
    assert "alert" not in joined and "script" not in joined
    assert "Body" in joined


def test_html_title_used_when_no_leading_heading(tmp_path: Path) -> None:
    html = "<html><head><title>Page title</title></head><body><p>Body.</p></body></html>"
    assert load_file(tmp_path, "a.html", html) == [
        Block("Page title", "heading", 1), Block("Body.", "para")]


def test_html_mixed_content_text_kept(tmp_path: Path) -> None:
    html = ("<body><div>Aspirin reduces fever.<p>It also thins blood.</p></div>"
            "<ul><li>Causes include<ul><li>tumours</li></ul></li></ul></body>")
    joined = " ".join(b.text for b in load_file(tmp_path, "a.html", html))
    assert "Aspirin reduces fever." in joined
    assert "Causes include" in joined


# .pdf: pypdf cannot easily write text, so only the failure paths are tested.


@pytest.mark.parametrize("data", [
    pytest.param(b"this is not a pdf at all", id="not-pdf"),
    pytest.param(b"%PDF-1.4\n1 0 obj garbage garbage", id="garbage"),
    pytest.param(blank_pdf()[: len(blank_pdf()) // 2], id="truncated"),
    pytest.param(blank_pdf()[:40], id="header-only"),
])
def test_broken_pdf_raises(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(LoadError, match="PDF"):
        load_file(tmp_path, "broken.pdf", data)


def test_blank_pdf_has_no_text(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="no extractable text"):
        load_file(tmp_path, "blank.pdf", blank_pdf())


def test_pdf_with_absurd_xref_size_raises_load_error(tmp_path: Path) -> None:
    data = blank_pdf().replace(b"xref\n0 5\n", b"xref\n0 500000000000\n")
    assert b"500000000000" in data
    with pytest.raises(LoadError, match="PDF"):
        load_file(tmp_path, "corrupt.pdf", data)


# Files that cannot be read.


@pytest.mark.parametrize("name", ["notes.docx", "table.csv", "page.php", "README"])
def test_unsupported_extension(tmp_path: Path, name: str) -> None:
    with pytest.raises(LoadError, match="unsupported"):
        load_file(tmp_path, name, "Some perfectly good text.")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="cannot read"):
        load(tmp_path / "absent.txt")


@pytest.mark.parametrize("name", ["a.txt", "a.md", "a.html", "a.pdf"])
@pytest.mark.parametrize("data", [
    pytest.param(b"", id="empty"),
    pytest.param(b"  \n\t\r\n   \n", id="whitespace"),
])
def test_empty_file_raises(tmp_path: Path, name: str, data: bytes) -> None:
    with pytest.raises(LoadError, match="empty"):
        load_file(tmp_path, name, data)


@pytest.mark.parametrize("name", ["a.txt", "a.md", "a.html"])
@pytest.mark.parametrize("data", [
    pytest.param(b"\xef\xbb\xbf \n\n", id="utf-8-bom"),
    pytest.param(" \n\n".encode("utf-16"), id="utf-16"),
])
def test_whitespace_after_bom_raises(tmp_path: Path, name: str, data: bytes) -> None:
    with pytest.raises(LoadError):
        load_file(tmp_path, name, data)


@pytest.mark.parametrize("data", [
    pytest.param(bytes(range(256)) * 8, id="with-nul"),
    pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(range(1, 256)) * 8, id="no-nul"),
])
def test_binary_renamed_txt_raises(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(LoadError):
        load_file(tmp_path, "image.txt", data)


# Decoding.

ACCENTED = "Café-au-lait spots, naïve T cells and résumé of the señor's fever."


def test_latin1_decodes(tmp_path: Path) -> None:
    assert load_file(tmp_path, "a.txt", ACCENTED.encode("latin-1")) == [Block(ACCENTED)]


@pytest.mark.parametrize("data", [
    pytest.param(f"{ACCENTED}\n  • item\n".encode("utf-16"), id="utf-16"),
    pytest.param(b"\xff\xfe" + f"{ACCENTED}\n  • item\n".encode("utf-16-le"), id="utf-16-le"),
    pytest.param(b"\xfe\xff" + f"{ACCENTED}\n  • item\n".encode("utf-16-be"), id="utf-16-be"),
    pytest.param(b"\xef\xbb\xbf" + f"{ACCENTED}\n  • item\n".encode(), id="utf-8-bom"),
])
def test_unicode_with_bom_decodes(tmp_path: Path, data: bytes) -> None:
    assert load_file(tmp_path, "a.txt", data) == [Block(ACCENTED), Block("item", "item")]


def test_invalid_utf8_mostly_text_decodes(tmp_path: Path) -> None:
    data = b"Fever and cough are common in influenza. " * 5 + b"\xff\xfe\x81 Rest helps.\n"
    [block] = load_file(tmp_path, "a.txt", data)
    assert block.text.startswith("Fever and cough are common in influenza.")
    assert block.text.endswith("Rest helps.")


def test_invalid_utf8_keeps_valid_accents(tmp_path: Path) -> None:
    data = (ACCENTED + " ").encode() * 5 + b"\xff\n"
    [block] = load_file(tmp_path, "a.txt", data)
    assert block.text.startswith(ACCENTED)


# ---------------------------------------------------------------------------------------------
# 2. Cleaning
# ---------------------------------------------------------------------------------------------

# The default sources: all chrome gone, all article text kept.


@pytest.mark.parametrize("name", DEFAULT_FILES)
def test_default_source_boilerplate_removed(name: str) -> None:
    text = source_doc(name).text
    left = [phrase for phrase in BOILERPLATE_PHRASES if phrase in text]
    left += [line for line in SHORT_BOILERPLATE_LINES if line in text.splitlines()]
    assert DISCLAIMER_START not in text
    assert left == []


@pytest.mark.parametrize("name", DEFAULT_FILES)
def test_default_source_body_kept(name: str) -> None:
    text = collapse(source_doc(name).text)
    lines = body_lines(name)
    assert len(lines) >= 10
    assert [line for line in lines if line not in text] == []


@pytest.mark.parametrize(("name", "title"), [
    (DEFAULT_FILES[0], "What Is Paraneoplastic Neuromyopathy And Neuropathy?"),
    (DEFAULT_FILES[1],
     "What is the etiology of paraneoplastic (related to cancer) muscle weakness?"),
])
def test_default_source_title(name: str, title: str) -> None:
    doc = source_doc(name)
    assert doc.title == title
    assert doc.text.startswith(title)
    assert doc.headings[0] == type(doc.headings[0])(title, 1, 0, len(title))


@pytest.mark.parametrize(("name", "heading"), [
    (DEFAULT_FILES[0], "Paraneoplastic Syndrome"),
    (DEFAULT_FILES[1], "From the Guidelines"),
    (DEFAULT_FILES[1], "Key Factors Contributing to Paraneoplastic Muscle Weakness"),
])
def test_default_source_headings(name: str, heading: str) -> None:
    assert heading in [h.text for h in source_doc(name).headings]


@pytest.mark.parametrize("name", DEFAULT_FILES)
def test_heading_spans_match_text(name: str) -> None:
    doc = source_doc(name)
    assert doc.headings
    for h in doc.headings:
        assert doc.text[h.start:h.end] == h.text
        assert h.start == 0 or doc.text[h.start - 2:h.start] == "\n\n"


@pytest.mark.parametrize("name", DEFAULT_FILES)
def test_removed_lines_recorded(name: str) -> None:
    removed = " ".join(source_doc(name).removed_lines)
    assert "Team PainAssist" in removed or "Medical Advisory Board" in removed


# General rules on a made-up site (no site-specific strings in the code).

MADE_UP_SITE = """Understanding Iron Deficiency Anaemia

Subscribe to our newsletter

Share this article

Overview

Iron deficiency anaemia occurs when the body lacks enough iron to make haemoglobin. It is the most common nutritional deficiency worldwide.

Treatment

Oral iron is first-line therapy for most patients. Intravenous iron is used when oral iron fails or is not tolerated.

Disclaimer

The content on this site is provided for general information only. Always consult a qualified professional before acting on it.

© 2024 HealthSite. All rights reserved.

Related Articles
"""  # noqa: E501


def test_generic_boilerplate_removed_body_kept(tmp_path: Path) -> None:
    doc = clean_text(tmp_path, MADE_UP_SITE)
    for gone in ["Subscribe", "newsletter", "Share this article", "Disclaimer",
                 "general information only", "consult a qualified", "©", "All rights reserved",
                 "Related Articles"]:
        assert gone not in doc.text, gone
    for kept in ["Iron deficiency anaemia occurs when the body lacks enough iron",
                 "It is the most common nutritional deficiency worldwide.",
                 "Oral iron is first-line therapy for most patients.",
                 "Intravenous iron is used when oral iron fails or is not tolerated."]:
        assert kept in doc.text, kept
    assert doc.title == "Understanding Iron Deficiency Anaemia"
    assert [h.text for h in doc.headings] == [doc.title, "Overview", "Treatment"]


@pytest.mark.parametrize(("line", "repeated"), [
    ("Share this article", set()),
    ("Site wide banner", {"site wide banner"}),
])
def test_body_after_heading_like_boilerplate_kept(line: str, repeated: set[str]) -> None:
    body = "Iron deficiency is common. It causes fatigue and pallor."
    blocks = [Block("Iron Deficiency"), Block(line), Block(body)]
    doc = clean("x.txt", "x.txt", blocks, repeated=repeated)
    assert line not in doc.text
    assert body in doc.text


def test_paragraph_with_one_meta_sentence_kept(tmp_path: Path) -> None:
    para = ("Oral iron is first-line therapy. Intravenous iron is used when oral iron fails. "
            "Patients should not stop treatment without medical advice. Ferritin is rechecked "
            "after three months. Transfusion is reserved for severe anaemia.")
    doc = clean_text(tmp_path, f"Iron Therapy\n\n{para}\n")
    assert para in doc.text


def test_meta_paragraph_dropped(tmp_path: Path) -> None:
    doc = clean_text(tmp_path, "Iron Therapy\n\nOral iron is first-line therapy.\n\n"
                     "This page does not provide medical advice.\n")
    assert "medical advice" not in doc.text
    assert "Oral iron is first-line therapy." in doc.text


def test_country_us_is_not_reader_address(tmp_path: Path) -> None:
    para = "Lyme disease is common in the US. Ticks transmit the bacterium."
    doc = clean_text(tmp_path, f"Lyme Disease\n\n{para}\n")
    assert para in doc.text


def test_repeated_lines() -> None:
    def doc(*lines: str) -> list[Block]:
        return [Block(line) for line in lines]

    docs = [
        doc("Sign up for updates!", "Body one.", "Only here once"),
        doc("Sign up for updates", "Body two."),
        doc("SIGN UP FOR UPDATES", "Body three."),
        doc("Body four."),
    ]
    found = repeated_lines(docs)
    assert "sign up for updates" in found
    assert "only here once" not in found
    assert not any("body" in key for key in found)


def test_repeated_lines_removed_by_clean(tmp_path: Path) -> None:
    blocks = [Block("Lupus Nephritis"), Block("Site wide banner"), Block("Overview"),
              Block("Lupus nephritis is kidney inflammation caused by lupus.")]
    doc = clean("x.txt", "x.txt", blocks, repeated={"site wide banner"})
    assert "banner" not in doc.text
    assert "Lupus nephritis is kidney inflammation caused by lupus." in doc.text


# ---------------------------------------------------------------------------------------------
# 3. Sentences
# ---------------------------------------------------------------------------------------------


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_sentence_spans_exact() -> None:
    text = ("  Fever is common.  Cough is rarer! Is it flu?\n\n"
            "• Rest at home\n• Drink fluids.\nRates were 1.6% in 2020. Dr. Lee agreed.  ")
    spans = split_sentences(text)
    assert len(spans) == 7
    for s, e in spans:
        assert text[s:e] == text[s:e].strip() != ""
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


@pytest.mark.parametrize("text", [
    "Use an NSAID, e.g. Ibuprofen, for the pain.",
    "Give the usual drug, i.e. Aspirin, every day.",
    "Dr. Smith examined the patient.",
    "As Smith et al. Reported, the rate was low.",
    "The prevalence is 1.6% in small cell lung cancer.",
    "Doses of 2.5 mg are used.",
    "Symptoms start slowly. and then worsen.",
])
def test_no_split(text: str) -> None:
    assert sentences(text) == [text]


def test_split_at_stop_and_capital() -> None:
    assert sentences("Fever is common. Cough is rarer! Is it flu? Yes. 2 cases were seen.") == [
        "Fever is common.", "Cough is rarer!", "Is it flu?", "Yes.", "2 cases were seen."]


def test_newline_is_always_a_boundary() -> None:
    assert sentences("A heading with no stop\nbody text goes on\n\nLast line") == [
        "A heading with no stop", "body text goes on", "Last line"]


def test_bullet_lines_are_separate_sentences() -> None:
    text = "Causes include:\n• Small cell lung cancer\n• Thymoma. Rarely lymphoma\n• Ovarian cancer"
    assert sentences(text) == ["Causes include:", "• Small cell lung cancer", "• Thymoma.",
                               "Rarely lymphoma", "• Ovarian cancer"]


def test_split_within_range() -> None:
    text = "Skip this. Take this one. And this.\nNot this."
    start = text.index("Take")
    end = text.index("\n")
    spans = split_sentences(text, start, end)
    assert [text[s:e] for s, e in spans] == ["Take this one.", "And this."]


def test_split_after_dose_unit() -> None:
    assert sentences("Give 5 mg. Repeat after 4 hours.") == ["Give 5 mg.", "Repeat after 4 hours."]


# ---------------------------------------------------------------------------------------------
# 4. Chunking
# ---------------------------------------------------------------------------------------------

DOC_SETTINGS = [
    pytest.param(name, settings.values[0], id=f"{name[:3]}-{settings.id}")
    for name in DEFAULT_FILES for settings in SETTINGS
]


@pytest.mark.parametrize(("name", "settings"), DOC_SETTINGS)
def test_chunk_spans_exact(name: str, settings: ChunkerSettings) -> None:
    doc = source_doc(name)
    chunks = chunks_of(doc, settings)
    assert len(chunks) >= 2
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text
        assert c.text == c.text.strip() != ""
        assert c.doc_id == doc.doc_id and c.title == doc.title


@pytest.mark.parametrize(("name", "settings"), DOC_SETTINGS)
def test_chunks_fit_budget(name: str, settings: ChunkerSettings) -> None:
    for c in chunks_of(source_doc(name), settings):
        assert count_tokens(c.embed_text()) <= settings.chunk_tokens, c.text


def test_max_tokens_caps_budget() -> None:
    doc = source_doc(DEFAULT_FILES[1])
    settings = ChunkerSettings(chunk_tokens=200, overlap_tokens=10, max_tokens=50)
    for c in chunks_of(doc, settings):
        assert count_tokens(c.embed_text()) <= 50


@pytest.mark.parametrize(("name", "settings"), DOC_SETTINGS)
def test_chunks_never_cross_headings(name: str, settings: ChunkerSettings) -> None:
    doc = source_doc(name)
    for c in chunks_of(doc, settings):
        for h in doc.headings:
            assert h.end <= c.start or h.start >= c.end, (h.text, c.text)


@pytest.mark.parametrize(("name", "settings"), DOC_SETTINGS)
def test_every_body_sentence_covered(name: str, settings: ChunkerSettings) -> None:
    doc = source_doc(name)
    covered = [False] * len(doc.text)
    for c in chunks_of(doc, settings):
        covered[c.start:c.end] = [True] * (c.end - c.start)
    sents = body_sentences(doc)
    assert len(sents) >= 20
    for s, e in sents:
        missing = [i for i in range(s, e) if not covered[i] and not doc.text[i].isspace()]
        assert not missing, doc.text[s:e]


@pytest.mark.parametrize(("name", "settings"), DOC_SETTINGS)
def test_consecutive_chunks_overlap_bounded(name: str, settings: ChunkerSettings) -> None:
    doc = source_doc(name)
    chunks = chunks_of(doc, settings)
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.start > a.start  # always moves forward
        if section_index(doc, a.start) != section_index(doc, b.start):
            assert b.start >= a.end  # no overlap across a heading
        elif b.start < a.end:
            assert count_tokens(doc.text[b.start:a.end]) <= settings.overlap_tokens


def test_small_settings_do_overlap() -> None:
    doc = source_doc(DEFAULT_FILES[0])
    chunks = chunks_of(doc, SMALL)
    assert any(b.start < a.end for a, b in zip(chunks, chunks[1:], strict=False))


@pytest.mark.parametrize("name", DEFAULT_FILES)
def test_no_chunk_inside_previous(name: str) -> None:
    chunks = chunks_of(source_doc(name), SMALL)
    inside = [(b.start, b.end) for a, b in zip(chunks, chunks[1:], strict=False)
              if a.start <= b.start and b.end <= a.end]
    assert inside == []


@pytest.mark.parametrize(("name", "settings"), DOC_SETTINGS)
def test_chunk_ids_stable_and_unique(name: str, settings: ChunkerSettings) -> None:
    doc = source_doc(name)
    first = [c.id for c in chunks_of(doc, settings)]
    again = [c.id for c in chunks_of(dataclasses.replace(doc), settings)]
    assert first == again
    assert len(set(first)) == len(first)


def test_chunk_ids_change_with_text() -> None:
    doc = source_doc(DEFAULT_FILES[1])
    old, new = "Neuromuscular disconnection 3", "Neuromuscular Disconnection 3"  # same length
    changed = dataclasses.replace(doc, text=doc.text.replace(old, new))
    before = {c.id: c for c in chunks_of(doc, SMALL)}
    after = {c.id: c for c in chunks_of(changed, SMALL)}
    assert [c.text for c in before.values() if old in c.text]
    new_ids = set(after) - set(before)
    assert new_ids
    assert all(new in after[i].text for i in new_ids)  # only chunks with the edit change
    other = dataclasses.replace(doc, doc_id="other.txt")
    assert not {c.id for c in chunks_of(other, SMALL)} & set(before)


def test_long_sentence_cut_at_word_boundaries(tmp_path: Path) -> None:
    words = [f"term{i}" for i in range(120)]
    sentence = "Findings " + " ".join(words) + " resolved."
    doc = clean_text(tmp_path, f"Long Finding\n\n{sentence}\n")
    chunks = chunks_of(doc, SMALL)
    assert len(chunks) >= 3
    start = doc.text.index("Findings")
    end = start + len(sentence)
    seen: set[str] = set()
    for c in chunks:
        assert count_tokens(c.embed_text()) <= SMALL.chunk_tokens
        assert c.start == start or doc.text[c.start - 1] == " "
        assert c.end == end or doc.text[c.end] == " "
        seen.update(c.text.split())
    assert seen == set(sentence.split())


@pytest.mark.parametrize(("name", "settings"), DOC_SETTINGS)
def test_heading_path_starts_with_title(name: str, settings: ChunkerSettings) -> None:
    doc = source_doc(name)
    for c in chunks_of(doc, settings):
        assert c.heading_path[0] == doc.title
        assert c.embed_text().startswith(" > ".join(c.heading_path) + "\n")


def test_heading_path_names_section() -> None:
    doc = source_doc(DEFAULT_FILES[1])
    section = "Key Factors Contributing to Paraneoplastic Muscle Weakness"
    chunks = [c for c in chunks_of(doc, SMALL) if "Autophagy 3" in c.text]
    assert chunks
    assert all(c.heading_path == (doc.title, section) for c in chunks)


def test_document_without_headings(tmp_path: Path) -> None:
    doc = clean_text(tmp_path, "Fever is common in influenza. Rest and fluids help.\n")
    [chunk] = chunks_of(doc, SMALL)
    assert chunk.heading_path == ()
    assert chunk.embed_text() == chunk.text == doc.text


# chunk_sentences: one entry per sentence of a chunk, for sentence-level retrieval.


@pytest.mark.parametrize(("name", "settings"), DOC_SETTINGS)
def test_chunk_sentences_inside_chunk(name: str, settings: ChunkerSettings) -> None:
    doc = source_doc(name)
    chunks = {c.id: c for c in chunks_of(doc, settings)}
    sents = chunk_sentences(list(chunks.values()))
    assert sents
    assert len({s.id for s in sents}) == len(sents)
    for s in sents:
        chunk = chunks[s.chunk_id]
        assert chunk.start <= s.start < s.end <= chunk.end
        assert doc.text[s.start:s.end] == s.text
        assert s.doc_id == doc.doc_id


def test_chunk_sentences_skip_lead_ins_and_bullets() -> None:
    doc = source_doc(DEFAULT_FILES[1])
    sents = chunk_sentences(chunks_of(doc, ChunkerSettings()))
    texts = [s.text for s in sents]
    lead_in = "Some key factors contributing to paraneoplastic muscle weakness include:"
    assert lead_in in doc.text and lead_in not in texts
    assert not any(t.endswith(":") for t in texts)
    [atrophy] = [s for s in sents if s.text == "• Muscle atrophy 3"]
    assert atrophy.embed_text == "Muscle atrophy 3"
    assert not any(s.embed_text.startswith("•") for s in sents)
    plain = [s for s in sents if not s.text.startswith("• ")]
    assert plain and all(s.embed_text == s.text for s in plain)
