"""Shared helpers of the ingest tests: a fake token counter, sample files written into
tmp_path, the default sources cleaned once."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import pytest
from pypdf import PdfWriter

from ingest.chunking import ChunkerSettings, chunk_document
from ingest.clean import clean
from ingest.loaders import Block, load
from ingest.sentences import split_sentences
from ingest.types import Chunk, SourceDoc

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
