"""Plain types that cross package borders: the blocks a loader reads, a cleaned source
document and its chunks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from ingest.abbreviations import Glossary, expand


@dataclass(frozen=True)
class Heading:
    """A heading line of a cleaned document: its text, level (1 = top) and span."""

    text: str
    level: int
    start: int
    end: int


@dataclass(frozen=True)
class PageSpan:
    """The stretch of a document's cleaned text that came from one page of its PDF:
    `text[start:end]` (page numbers from 1, as a PDF viewer counts them)."""

    page: int
    start: int
    end: int


def page_at(pages: tuple[PageSpan, ...], offset: int) -> int | None:
    """The page holding cleaned-text `offset` (the last page that starts at or before it);
    None for a document without pages."""
    found = None
    for span in pages:
        if span.start > offset:
            break
        found = span.page
    return found


@dataclass(frozen=True)
class SourceDoc:
    """One source file after loading and cleaning.

    `doc_id` is the file's path relative to the sources folder (POSIX form), `text` the
    cleaned text that every chunk span and citation offset refers to. `pages` (PDFs
    only, else empty) maps stretches of that text to the pages they came from; `anchors`
    (HTML and Markdown headings with an id) maps a heading's start offset to its id.
    `ocr_pages`: the PDF's pages (from 1) that had no text layer and were read by OCR.
    """

    doc_id: str
    path: str
    title: str
    text: str
    headings: tuple[Heading, ...] = ()
    raw_hash: str = ""
    removed_lines: tuple[str, ...] = field(default=(), compare=False)
    pages: tuple[PageSpan, ...] = ()
    anchors: tuple[tuple[int, str], ...] = ()
    ocr_pages: tuple[int, ...] = ()


@dataclass(frozen=True)
class Chunk:
    """A passage of a cleaned document: `doc_text[start:end] == text` always holds.

    `glossary` holds the abbreviations its document defines that the passage uses without
    their long form (`ingest.abbreviations`). For a PDF, `page` and `page_end` are the
    first and last page the passage is on and `page_breaks` the (offset, page) where each
    later page begins inside it; all None/empty for other formats (and for chunks of an
    index made before pages were kept). `anchor` is the id of the heading the passage is
    under, where the source gave it one (HTML, Markdown), for a link to `#anchor`.
    `ocr_pages`: the pages of the passage that were read by OCR (a scan, `ingest.ocr`).
    """

    id: str
    doc_id: str
    title: str
    heading_path: tuple[str, ...]
    start: int
    end: int
    text: str
    glossary: Glossary = ()
    page: int | None = None
    page_end: int | None = None
    page_breaks: tuple[tuple[int, int], ...] = ()
    anchor: str | None = None
    ocr_pages: tuple[int, ...] = ()

    def page_of(self, offset: int) -> int | None:
        """The page of document offset `offset` inside this passage (None: no pages)."""
        page = self.page
        for start, number in self.page_breaks:
            if start > offset:
                break
            page = number
        return page

    def embed_text(self) -> str:
        """The text the embedder and BM25 see: the heading path for context, then the
        passage with its abbreviations spelled out."""
        context = " > ".join(self.heading_path)
        text = expand(self.text, self.glossary)
        return f"{context}\n{text}" if context else text


@dataclass(frozen=True)
class Sentence:
    """A sentence of a chunk, embedded on its own so answers can pick exact sentences.

    `embed_text` is what the embedder sees: the sentence without its list bullet.
    """

    id: str
    chunk_id: str
    doc_id: str
    start: int
    end: int
    text: str
    embed_text: str


BlockKind = Literal["heading", "para", "item", "row"]


@dataclass(frozen=True)
class Block:
    """A paragraph, list item, heading or table row (`ingest.tables`). `level` is 0 unless
    the format marked a heading; `page` is the PDF page it came from (from 1; None for
    other formats); `anchor` the id the source gave a heading (HTML/Markdown), if any."""

    text: str
    kind: BlockKind = "para"
    level: int = 0
    page: int | None = None
    anchor: str | None = None


BULLET = re.compile(r"^\s*(?:[•◦▪‣∙·*\-–]|\d+[.)])\s+")


def line_block(line: str) -> Block:
    if BULLET.match(line):
        return Block(BULLET.sub("", line).strip(), "item")
    return Block(line.strip(), "para")
