"""Split a cleaned document into sentence- and heading-aware chunks with exact offsets.

A chunk never crosses a heading: each section (the text between two headings) is packed
sentence by sentence up to `chunk_tokens` tokens, counting the heading path that is
embedded with it. Consecutive chunks of a section share up to `overlap_tokens` tokens of
whole sentences. A sentence longer than the limit on its own is cut at word boundaries.
Tokens are counted with the embedder's own tokenizer (`count_tokens`) on the text as it is
embedded (heading path first, abbreviations spelled out), so a chunk never exceeds the
model's maximum sequence length.

A chunk may cross a PDF page break: it carries its first and last page and where each
later page begins inside it (`Chunk.page_breaks`), so a citation knows its quote's page. It
carries the id of the deepest heading above it that has one (`Chunk.anchor`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from ingest.abbreviations import definitions, expand, used_in
from ingest.sentences import split_sentences
from ingest.types import Chunk, Sentence, SourceDoc, page_at

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class ChunkerSettings:
    chunk_tokens: int = 160
    overlap_tokens: int = 32
    max_tokens: int = 256  # the embedder's maximum sequence length; a hard cap

    def fingerprint(self) -> str:
        return f"sentence-v2:{self.chunk_tokens}:{self.overlap_tokens}:{self.max_tokens}"


def chunk_id(doc_id: str, start: int, text: str) -> str:
    """Stable, content-addressed id: the same passage of the same document, the same id."""
    digest = hashlib.sha256(f"{doc_id}\x00{start}\x00{text}".encode()).hexdigest()
    return digest[:24]


def chunk_document(doc: SourceDoc, count_tokens: TokenCounter,
                   settings: ChunkerSettings = ChunkerSettings()) -> list[Chunk]:
    limit = min(settings.chunk_tokens, settings.max_tokens)
    glossary = definitions(doc.text)

    def count(text: str) -> int:  # as embedded: abbreviations spelled out
        return count_tokens(expand(text, glossary) if glossary else text)

    chunks: list[Chunk] = []
    for path, anchor, start, end in _sections(doc):
        context = " > ".join(path)
        budget = limit - (count_tokens(context) if context else 0)
        spans = _fit(doc.text, split_sentences(doc.text, start, end), count, budget)
        for s, e in _pack(doc.text, spans, count, budget, settings.overlap_tokens):
            text = doc.text[s:e]
            first, last = page_at(doc.pages, s), page_at(doc.pages, e - 1)
            chunks.append(Chunk(chunk_id(doc.doc_id, s, text), doc.doc_id, doc.title,
                                path, s, e, text, used_in(text, glossary),
                                page=first, page_end=last,
                                page_breaks=tuple((p.start, p.page) for p in doc.pages
                                                  if s < p.start < e),
                                anchor=anchor,
                                ocr_pages=tuple(p for p in doc.ocr_pages
                                                if first is not None and last is not None
                                                and first <= p <= last)))
    return chunks


def _sections(doc: SourceDoc) -> list[tuple[tuple[str, ...], str | None, int, int]]:
    """(heading path, anchor, body start, body end) for each stretch of body text; the
    anchor is the id of the deepest heading of the path that has one."""
    out: list[tuple[tuple[str, ...], str | None, int, int]] = []
    ids = dict(doc.anchors)
    stack: list[tuple[int, str, str | None]] = []

    def here(start: int, end: int) -> None:
        anchor = next((a for *_, a in reversed(stack) if a), None)
        out.append((tuple(t for _, t, _ in stack), anchor, start, end))

    pos = 0
    for heading in doc.headings:
        if doc.text[pos:heading.start].strip():
            here(pos, heading.start)
        while stack and stack[-1][0] >= heading.level:
            stack.pop()
        stack.append((heading.level, heading.text, ids.get(heading.start)))
        pos = heading.end
    if doc.text[pos:].strip():
        here(pos, len(doc.text))
    return out


def _fit(text: str, spans: list[tuple[int, int]], count: TokenCounter,
         budget: int) -> list[tuple[int, int]]:
    """Cut any sentence longer than `budget` tokens into word-bounded pieces that fit."""
    out: list[tuple[int, int]] = []
    for start, end in spans:
        if count(text[start:end]) <= budget:
            out.append((start, end))
            continue
        piece_start = start
        last_ok = start
        pos = start
        while pos < end:
            nxt = text.find(" ", pos + 1, end)
            nxt = end if nxt == -1 else nxt
            if count(text[piece_start:nxt]) > budget and last_ok > piece_start:
                out.append((piece_start, last_ok))
                piece_start = last_ok + 1
            last_ok = nxt
            pos = nxt
        if piece_start < end:
            out.append((piece_start, end))
    return out


def _pack(text: str, spans: list[tuple[int, int]], count: TokenCounter, budget: int,
          overlap: int) -> list[tuple[int, int]]:
    """Greedy packing of sentence spans into chunks, with whole-sentence overlap."""
    chunks: list[tuple[int, int]] = []
    i = 0
    while i < len(spans):
        j = i + 1
        while j < len(spans) and count(text[spans[i][0]:spans[j][1]]) <= budget:
            j += 1
        chunks.append((spans[i][0], spans[j - 1][1]))
        if j >= len(spans):
            break
        # Step back over trailing sentences that fit in the overlap, never to `i` itself.
        k = j
        while k - 1 > i and count(text[spans[k - 1][0]:spans[j - 1][1]]) <= overlap:
            k -= 1
        # The next chunk must still reach sentence j, or it would hold no new text.
        while k < j and count(text[spans[k][0]:spans[j][1]]) > budget:
            k += 1
        i = k
    return chunks


def chunk_sentences(chunks: list[Chunk]) -> list[Sentence]:
    """The sentences of each chunk, except list lead-ins ("... include:"), which say nothing
    on their own. Sentences are embedded bare (context made list items all look alike),
    with the abbreviations of the chunk's glossary spelled out."""
    out: list[Sentence] = []
    for chunk in chunks:
        for i, (s, e) in enumerate(split_sentences(chunk.text)):
            text = chunk.text[s:e]
            if text.endswith(":"):
                continue
            bare = text[2:] if text.startswith("• ") else text
            out.append(Sentence(f"{chunk.id}:{i}", chunk.id, chunk.doc_id, chunk.start + s,
                                chunk.start + e, text, expand(bare, chunk.glossary)))
    return out
