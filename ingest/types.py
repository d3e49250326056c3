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
class SourceDoc:
    """One source file after loading and cleaning.

    `doc_id` is the file's path relative to the sources folder (POSIX form), `text` the
    cleaned text that every chunk span and citation offset refers to.
    """

    doc_id: str
    path: str
    title: str
    text: str
    headings: tuple[Heading, ...] = ()
    raw_hash: str = ""
    removed_lines: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Chunk:
    """A passage of a cleaned document: `doc_text[start:end] == text` always holds.

    `glossary` holds the abbreviations its document defines that the passage uses without
    their long form (`ingest.abbreviations`).
    """

    id: str
    doc_id: str
    title: str
    heading_path: tuple[str, ...]
    start: int
    end: int
    text: str
    glossary: Glossary = ()

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
    the format marked a heading."""

    text: str
    kind: BlockKind = "para"
    level: int = 0


BULLET = re.compile(r"^\s*(?:[•◦▪‣∙·*\-–]|\d+[.)])\s+")


def line_block(line: str) -> Block:
    if BULLET.match(line):
        return Block(BULLET.sub("", line).strip(), "item")
    return Block(line.strip(), "para")
