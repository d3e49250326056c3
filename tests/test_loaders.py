"""Loaders: every format read into blocks, broken and odd files refused with a reason.

No network and no model: tokens are counted with a fake counter (words + 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import LoadError
from ingest.loaders import Block, load
from tests.ingest_samples import (
    blank_pdf,
    load_file,
)

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
    with pytest.raises(LoadError, match="no extractable text|no text layer"):
        load_file(tmp_path, "blank.pdf", blank_pdf())


def test_pdf_with_absurd_xref_size_raises_load_error(tmp_path: Path) -> None:
    data = blank_pdf().replace(b"xref\n0 5\n", b"xref\n0 500000000000\n")
    assert b"500000000000" in data
    with pytest.raises(LoadError, match="PDF"):
        load_file(tmp_path, "corrupt.pdf", data)


# Files that cannot be read.


@pytest.mark.parametrize("name", ["notes.rtf", "slides.odp", "page.php", "README"])
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
