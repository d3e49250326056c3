"""The text blocks of a Markdown document, parsed by a real CommonMark parser (markdown-it-py).

Regexes cannot parse Markdown: `[click](javascript:alert(1)) the guideline` became
"click) the guideline" because the link pattern stopped at the first `)`. What is read:

- headings (ATX and setext) as heading blocks with their level;
- paragraphs as paragraph blocks, a hard-wrapped one as one block; a paragraph line that
  starts with a bullet character ("• ...", as pasted from a word processor) is a list item;
- list items as item blocks (further paragraphs of an item as paragraphs), pipe tables one
  `row` block per body row, each cell named by its column in the header row
  (`ingest.tables`: "Drug: Aspirin; Dose: 75 mg."), block quotes as their content;
- link text kept and its URL dropped, an image's alt text, code spans and indented code
  as text; fenced code blocks and thematic breaks dropped; raw HTML read as HTML (its
  scripts and styles dropped).

markdown-it gives up below `MAX_NESTING` levels of block quotes and lists, silently dropping
what is deeper. A document that deep is read again with its quote and list markers taken
off each line (structure lost, text kept).
"""

from __future__ import annotations

import re
from functools import cache

from ingest.html_text import html_blocks
from ingest.tables import Cell, grid_blocks
from ingest.types import Block, line_block

MAX_NESTING = 100
_LIST_MARK = re.compile(r"(?:[-*+]|\d{1,9}[.)])(?=[ \t]|$)")


@cache
def _parser():
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"maxNesting": MAX_NESTING}).enable("table")
    # markdown-it refuses javascript: and data: links, leaving `[text](url)` as literal
    # text; nothing is rendered here, and a link's URL is dropped anyway.
    md.validateLink = lambda url: True
    return md


# No leading `\s*`: searched for, it rescanned a run of spaces from each of them (quadratic;
# tests/test_regex_backtracking.py); the spaces before it are stripped by `heading_id`.
_HEADING_ID = re.compile(r"\{#([A-Za-z][\w:.-]{0,199})\}$")


def heading_id(text: str) -> tuple[str, str | None]:
    """A heading's text and the id it gives itself ("Dosing {#dosing}", the attribute
    syntax of Pandoc, kramdown and Python-Markdown), or None."""
    found = _HEADING_ID.search(text)
    if not found or not text[:found.start()].strip():
        return text, None
    return text[:found.start()].rstrip(), found.group(1)


def blocks(text: str) -> list[Block]:
    tokens = _parser().parse(text)
    if any(t.level >= MAX_NESTING - 1 for t in tokens):
        tokens = _parser().parse(flatten(text))
    out: list[Block] = []
    items: list[bool] = []  # open list items: has the item's first paragraph been read?
    row: list[str] | None = None
    table: list[list[str]] = []
    heading = 0
    for i, token in enumerate(tokens):
        kind = token.type
        if kind == "list_item_open":
            items.append(False)
        elif kind == "list_item_close":
            items.pop()
        elif kind == "heading_open":
            heading = int(token.tag[1])
        elif kind == "heading_close":
            heading = 0
        elif kind == "table_open":
            table = []
        elif kind == "tr_open":
            row = []
            table.append(row)
        elif kind in ("th_open", "td_open") and row is not None:
            row.append("")
        elif kind == "tr_close":
            row = None
        elif kind == "table_close":  # markdown-it's first row is always the header row
            out.extend(grid_blocks([[Cell(c) for c in r] for r in table], header_rows=1))
            table = []
        elif kind == "inline":
            lines = _inline_text(token.children or [])
            if row is not None and row:
                row[-1] = " ".join(line.strip() for line in lines).strip()
            elif heading:
                words, anchor = heading_id(" ".join(line.strip() for line in lines).strip())
                out.append(Block(words, "heading", heading, anchor=anchor))
            elif items and not items[-1] and tokens[i - 1].type == "paragraph_open":
                items[-1] = True
                out.append(Block(" ".join(line.strip() for line in lines).strip(), "item"))
            else:
                out.extend(_paragraph(lines))
        elif kind == "code_block":
            for para in re.split(r"\n[ \t]*\n", token.content):
                out.extend(_paragraph(para.split("\n")))
        elif kind == "html_block":
            out.extend(_html(token.content))
    return [b for b in out if b.text]


def _inline_text(children: list) -> list[str]:
    """The text of an inline token's children, as lines (split at line breaks)."""
    lines = [""]
    for child in children:
        kind = child.type
        if kind in ("text", "code_inline"):
            lines[-1] += child.content
        elif kind in ("softbreak", "hardbreak"):
            lines.append("")
        elif kind == "image":  # its alt text
            lines[-1] += " ".join(_inline_text(child.children or []))
    return lines


def _paragraph(lines: list[str]) -> list[Block]:
    """A paragraph's lines: bullet lines are items of their own, the rest one paragraph."""
    out: list[Block] = []
    para: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        block = line_block(line)
        if block.kind == "item":
            if para:
                out.append(Block(" ".join(para), "para"))
                para = []
            out.append(block)
        else:
            para.append(block.text)
    if para:
        out.append(Block(" ".join(para), "para"))
    return out


def _html(markup: str) -> list[Block]:
    return html_blocks(markup, with_title=False)


def flatten(text: str) -> str:
    """`text` with the block-quote and list markers at the start of each line taken off (a
    line that was a list item keeps one "- "), so that nothing is nested."""
    out = []
    for line in text.split("\n"):
        i, n, item = 0, len(line), False
        while i < n:
            if line[i] in " \t":
                i += 1
            elif line[i] == ">":
                i += 1
                item = False
            elif (mark := _LIST_MARK.match(line, i)) is not None:
                i = mark.end()
                item = True
            else:
                break
        rest = line[i:]
        out.append(f"- {rest}" if item and rest else rest)
    return "\n".join(out)
