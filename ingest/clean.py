"""Strip web-site chrome from loaded blocks and assemble the cleaned text of a document.

The rules are general, not tuned to particular sites:

1. Meta and marketing sentences: text about the page itself (editorial policy, review
   status, disclaimers, "this article ...", bylines, "last updated" dates, feedback links,
   calls to action) and text that addresses the reader ("you", "your", "we", "our").
   A block is dropped when at least half of its sentences are of this kind, so a body
   paragraph with one such sentence in it is kept whole.
2. Navigation: short lines ("Recent Posts", "Also Read:") matching navigation phrases,
   short lines repeated inside one document, and lines repeated across documents of the
   corpus (`repeated` argument).
3. Sections: a disclaimer or policy heading ("Medical Disclaimer") drops its whole section;
   a heading with no body text before the next heading or the end of the document is
   dropped (menus, "Personalize", "Have a follow-up question?" whose body was an advert).
   The document's first line is kept as its title when it looks like a heading.
4. Table rows (`ingest.tables`) that name their cells by a header ("Drug: Aspirin; Dose:
   75 mg.") are data, not chrome: rules 2's repetition tests and the reader-addressing test
   of rule 1 ("if you miss a dose") do not apply to them, only the meta and marketing
   patterns; a row that repeats one of the same document word for word is dropped (it says
   nothing new). A row repeated across documents is kept in each (a dosing row in every
   chapter of a guideline is true in each). Rows of a table without a header are lines
   like any other.

Headings are kept; in plain text a heading is a short line with no closing punctuation
(other than "?") that starts with a capital. Each removed line is kept in
`SourceDoc.removed_lines` so what was dropped can be inspected.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import replace

from ingest.loaders import Block
from ingest.tables import has_named_cell
from ingest.types import Heading, PageSpan, SourceDoc

_META_PATTERNS = [
    r"\bmedical advice\b",
    r"\bdisclaimer\b",
    r"\beditorial (?:policy|process|team|board|guidelines)\b",
    r"\bplagiarism\b",
    r"\b(?:reviewed|checked|verified|approved)\b.{0,60}\b(?:medical professional|accuracy|"
    r"for facts|advisory board|our (?:experts|team|editors))",
    r"\bfact[- ]?checked\b",
    r"\b(?:assumes?|accepts?) no (?:liability|responsibility)\b",
    r"\bwas this (?:article|page|post) helpful\b",
    r"\bfeedback (?:link|form|button)\b",
    r"\b(?:last|date) (?:updated|modified|reviewed)\b",
    r"^(?:written|edited|reviewed|medically reviewed|authored)\b[^.]{0,40}\bby\b",
    r"\b(?:educational|informational) purposes? only\b",
    r"\bpending (?:human |medical )?review\b",
    r"\bintended for (?:healthcare|medical|health care) professionals\b",
    r"\bclickable links?\b",
    r"\b(?:this|our) (?:article|page|site|website|post|content|information|articles)\b",
    r"\bcookies?\b",
    r"\ball rights reserved\b",
    r"©",
    r"\b(?:subscribe|newsletter|sign up|log in|follow us|click here|share this)\b",
    r"\b(?:advertisement|sponsored)\b",
    r"\bworld-class\b|\binstantly\b",
    r"\b(?:does not|doesn't|do not|is not (?:meant|intended) to) (?:replace|substitute)\b",
]
# The word boundary that most patterns start with is tested once, not once per pattern at
# every position: three times faster (it runs on every sentence), the same verdicts.
_META = re.compile(
    r"\b(?:" + "|".join(f"(?:{p[2:]})" for p in _META_PATTERNS if p.startswith(r"\b")) + ")|"
    + "|".join(p for p in _META_PATTERNS if not p.startswith(r"\b")), re.IGNORECASE)
# A heading of this kind takes its whole section with it.
_META_SECTION = re.compile(
    r"\b(?:disclaimer|editorial|policy|terms of (?:use|service)|privacy|advertisement|"
    r"sponsored|about the author|comments)\b", re.IGNORECASE)
_READER = re.compile(r"\b(?:[Yy]ou|[Yy]our|[Yy]ours|[Ww]e|[Oo]ur|[Oo]urs|us)\b")  # not "US"
_NAVIGATION = re.compile(
    r"^(?:recent|related|popular|latest|more|top) (?:posts|articles|stories|news|reads)\b|"
    r"^(?:also read|read more|see also|read next|you may also like|table of contents|"
    r"share|print|menu|home|search|back to top|next|previous)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“(])")
_CLOSING_PUNCT = (".", ",", ";", ":", "!")


def normalise_line(text: str) -> str:
    """Collapse whitespace (including no-break spaces) to single spaces."""
    return re.sub(r"\s+", " ", text.replace("\xa0", " ")).strip()


def line_key(text: str) -> str:
    """The form in which lines are compared for repetition."""
    return re.sub(r"\W+", " ", text.lower()).strip()


def repeated_lines(docs: Iterable[list[Block]], min_docs: int = 3, share: float = 0.5) -> set[str]:
    """Short lines that occur in at least `min_docs` documents and `share` of all of them."""
    counts: Counter[str] = Counter()
    n_docs = 0
    for blocks in docs:
        n_docs += 1
        counts.update({line_key(b.text) for b in blocks if len(b.text.split()) <= 12})
    needed = max(min_docs, int(share * n_docs + 0.999))
    return {key for key, n in counts.items() if n >= needed and key}


def _is_meta_sentence(sentence: str, reader: bool = True) -> bool:
    return bool(_META.search(sentence)) or (reader and _READER.search(sentence) is not None)


def is_boilerplate(text: str, reader: bool = True) -> bool:
    """True when at least half of the block's sentences are meta, marketing or navigation
    (`reader`: text addressing the reader counts as meta)."""
    if _NAVIGATION.match(text) and len(text.split()) <= 6:
        return True
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    meta = sum(_is_meta_sentence(s, reader) for s in sentences)
    return meta * 2 >= len(sentences) and meta > 0


def looks_like_heading(block: Block) -> bool:
    if block.kind == "heading":
        return True
    if block.kind != "para":
        return False
    text = block.text
    words = text.split()
    return (
        0 < len(words) <= 12
        and text[0].isupper()
        and not text.endswith(_CLOSING_PUNCT)
        and not re.search(r"[.!?]\s", text)
    )


def clean(doc_id: str, path: str, blocks: list[Block], raw_hash: str = "",
          repeated: set[str] | None = None) -> SourceDoc:
    """Drop boilerplate blocks and assemble the cleaned text with heading spans."""
    repeated = repeated or set()
    removed: list[str] = []
    blocks = [replace(b, text=normalise_line(b.text)) for b in blocks]
    blocks = [b for b in blocks if b.text]
    short_counts = Counter(line_key(b.text) for b in blocks if len(b.text.split()) <= 4)

    title_block = None
    if blocks and looks_like_heading(blocks[0]) and not is_boilerplate(blocks[0].text):
        title_block = replace(blocks[0], kind="heading", level=1)
        blocks = blocks[1:]

    kept: list[Block] = []
    in_meta_section = False
    rows_seen: set[str] = set()
    for block in blocks:
        key = line_key(block.text)
        heading = looks_like_heading(block)
        if block.kind == "row" and has_named_cell(block.text):
            boiler = block.text in rows_seen or is_boilerplate(block.text, reader=False)
            rows_seen.add(block.text)
        else:
            boiler = (
                key in repeated
                or (short_counts[key] > 1 and len(block.text.split()) <= 4)
                or is_boilerplate(block.text)
            )
        if heading:
            in_meta_section = bool(_META_SECTION.search(block.text))
        if boiler or in_meta_section:
            removed.append(block.text)
        else:
            kept.append(block)

    kept = _drop_empty_sections(kept, removed)
    if title_block is not None:
        kept.insert(0, title_block)
    text, headings = _assemble(kept)
    title = headings[0].text if headings else (kept[0].text[:120] if kept else doc_id)
    return SourceDoc(doc_id=doc_id, path=path, title=title, text=text,
                     headings=tuple(headings), raw_hash=raw_hash,
                     removed_lines=tuple(removed), pages=_pages(kept, text),
                     anchors=_anchors(kept, headings))


def _drop_empty_sections(blocks: list[Block], removed: list[str]) -> list[Block]:
    """Remove headings with no body text after them (menus and emptied sections)."""
    out: list[Block] = []
    for i, block in enumerate(blocks):
        if looks_like_heading(block):
            nxt = blocks[i + 1] if i + 1 < len(blocks) else None
            if nxt is None or (looks_like_heading(nxt) and _level(nxt) <= _level(block)):
                removed.append(block.text)
                continue
        out.append(block)
    return out


def _level(block: Block) -> int:
    # Plain-text headings carry no level: treat them all as one level.
    return block.level or 2


def _assemble(blocks: list[Block]) -> tuple[str, list[Heading]]:
    """Join blocks into the cleaned text: blank line between blocks, list items and table
    rows one a line."""
    parts: list[str] = []
    headings: list[Heading] = []
    pos = 0
    prev: Block | None = None
    for block in blocks:
        if prev is not None:
            sep = "\n" if block.kind == prev.kind and block.kind in ("item", "row") else "\n\n"
            parts.append(sep)
            pos += len(sep)
        line = f"• {block.text}" if block.kind == "item" else block.text
        if looks_like_heading(block):
            headings.append(Heading(block.text, block.level or 2, pos, pos + len(line)))
        parts.append(line)
        pos += len(line)
        prev = block
    if headings and headings[0].start == 0:
        first = headings[0]
        headings[0] = Heading(first.text, 1, first.start, first.end)
    return "".join(parts), headings


def _spans(blocks: list[Block], text: str) -> list[tuple[int, int]]:
    """Where each block's line lies in the assembled text (the same walk as `_assemble`)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    prev: Block | None = None
    for block in blocks:
        if prev is not None:
            pos += 1 if block.kind == prev.kind and block.kind in ("item", "row") else 2
        length = len(block.text) + (2 if block.kind == "item" else 0)
        spans.append((pos, pos + length))
        pos += length
        prev = block
    assert pos == len(text), "block spans out of step with the assembled text"
    return spans


def _pages(blocks: list[Block], text: str) -> tuple[PageSpan, ...]:
    """The character range of each PDF page in the cleaned text: from its first kept
    block's start to its last one's end (the blank line between two pages is on neither).
    A page all of whose text was removed has no span."""
    if not any(b.page is not None for b in blocks):
        return ()
    out: list[PageSpan] = []
    for block, (start, end) in zip(blocks, _spans(blocks, text), strict=True):
        if block.page is None:
            continue
        if out and out[-1].page == block.page:
            out[-1] = PageSpan(block.page, out[-1].start, end)
        else:
            out.append(PageSpan(block.page, start, end))
    return tuple(out)


def _anchors(blocks: list[Block], headings: list[Heading]) -> tuple[tuple[int, str], ...]:
    """(start offset, id) of each heading whose source gave it an id (HTML, Markdown)."""
    by_text = iter(headings)
    out: list[tuple[int, str]] = []
    for block in blocks:
        if not looks_like_heading(block):
            continue
        heading = next(by_text)
        if block.anchor:
            out.append((heading.start, block.anchor))
    return tuple(out)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
