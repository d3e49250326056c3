"""The Markdown (markdown-it-py) and HTML (one linear pass) readers: structure kept, link
text kept and URL dropped, nesting of any depth read (issue 19, defects 1 and 5)."""


from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders import Block, load

pytestmark = pytest.mark.timeout(900)


# ---------------------------------------------------------------------------------------------
# Markdown through a real parser (issue 19, defect 5)
# ---------------------------------------------------------------------------------------------


def _md(tmp_path: Path, text: str) -> list[Block]:
    path = tmp_path / "a.md"
    path.write_text(text)
    return load(path)


@pytest.mark.parametrize("text, expected", [
    ("[click](javascript:alert(1)) the guideline", "click the guideline"),
    ("See [X](https://en.wikipedia.org/wiki/X_(y)) for more.", "See X for more."),
    ("A [nested [bracket]](https://e.org/a_(b)_(c)) link.", "A nested [bracket] link."),
    ("An ![image (left)](a_(1).png) here.", "An image (left) here."),
    ("<https://example.org/a_(b)> is a link.", "https://example.org/a_(b) is a link."),
])
def test_markdown_link_text_kept_and_url_dropped(tmp_path: Path, text: str,
                                                 expected: str) -> None:
    assert _md(tmp_path, text) == [Block(expected, "para")]


def test_markdown_structure(tmp_path: Path) -> None:
    text = ("Title\n=====\n\n> Quoted *text* over\n> two lines.\n\n"
            "1. first\n2. second\n\n   more of the second\n\n"
            "| drug | dose |\n|---|---|\n| pyridostigmine | 60 mg |\n\n"
            "• pasted bullet\n• another\n\n"
            "<div><script>alert(1)</script><p>Raw HTML para.</p></div>\n\n"
            "    indented code line\n\n"
            "Uses `inline code` here.\n")
    assert _md(tmp_path, text) == [
        Block("Title", "heading", 1),
        Block("Quoted text over two lines.", "para"),
        Block("first", "item"),
        Block("second", "item"),
        Block("more of the second", "para"),
        Block("drug: pyridostigmine; dose: 60 mg.", "row"),  # ingest/tables.py
        Block("pasted bullet", "item"),
        Block("another", "item"),
        Block("Raw HTML para.", "para"),
        Block("indented code line", "para"),
        Block("Uses inline code here.", "para"),
    ]


def test_markdown_link_with_parentheses_is_cited_whole(tmp_path: Path, sources: Path,
                                                       settings, embedder) -> None:
    from app.service import Citewise

    (sources / "links.md").write_text(
        "# Guideline\n\nRead [click](javascript:alert(1)) the guideline on thymectomy.\n")
    service = Citewise(settings, embedder)
    assert "links.md" in service.ingest().added
    text = service.index.manifest.doc_text("links.md") or ""
    assert "Read click the guideline on thymectomy." in text
    assert "click)" not in text and "javascript" not in text


# ---------------------------------------------------------------------------------------------
# HTML read in one pass
# ---------------------------------------------------------------------------------------------


def _html(tmp_path: Path, text: str) -> list[Block]:
    path = tmp_path / "a.html"
    path.write_text(text)
    return load(path)


def test_html_nested_200000_deep_is_read(tmp_path: Path) -> None:
    """The issue's file: 2.2 MB of nested divs around one sentence (hours before)."""
    text = "<div>" * 200_000 + "One sentence." + "</div>" * 200_000
    assert _html(tmp_path, text) == [Block("One sentence.", "para")]


@pytest.mark.parametrize("text, expected", [
    ("<body>Loose <b>text</b><div>In a div</div>tail</body>",
     ["Loose text", "In a div", "tail"]),
    ("<p>Text <!-- a comment --> more</p>", ["Text more"]),
    ('<p title="a > b">Quoted &gt; kept</p>', ["Quoted > kept"]),
    ("<p>Before</p><script>if (a < b) { document.write('<p>x</p>') }</script><p>After</p>",
     ["Before", "After"]),
    ("<p>Kept</p><a x='unterminated", ["Kept"]),
    ("<p>Kept</p><!-- unclosed comment <p>gone</p>", ["Kept"]),
    ("<div/><p>Self-closed div</p>", ["Self-closed div"]),
    ("<ul><li>One<li>Two</ul>", ["One", "Two"]),
])
def test_html_tag_soup(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert [b.text for b in _html(tmp_path, text)] == expected
