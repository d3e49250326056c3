"""Abbreviations a document defines, so that a passage using one is found by its long form.

Medical text defines an abbreviation once ("Lambert-Eaton myasthenic syndrome (LEMS)") and
then uses it alone ("diagnosis of LEMS is generally made by ..."). A question that spells
the name out shares no word with such a passage, and the embedder does not know "LEMS".
So each chunk carries the glossary of its document's abbreviations that it uses without
their long form, and the text it is embedded and BM25-indexed by names them in full
(`expand`). The chunk's own text, which citations quote, is never changed.

Definitions are found as in Schwartz & Hearst (2003), "A simple algorithm for identifying
abbreviation definitions in biomedical text": a short form in parentheses right after its
long form, whose letters appear in order in the long form, the first one starting a word.
A plural short form ("VGCCs") also defines its singular ("anti-VGCC").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

Glossary = tuple[tuple[str, str], ...]  # (short form, long form), in order of definition

MAX_SHORT = 10  # characters
WINDOW = 300  # characters before the parenthesis that the long form is looked for in
_DEFINITION = re.compile(rf"\(([A-Za-z0-9][\w\-]{{1,{MAX_SHORT - 1}}})\)")
_CLAUSE_END = re.compile(r"[.;:!?()\[\]\n]")


def _long_form(short: str, before: str) -> str | None:
    """The long form of `short` ending `before` (the text up to its parenthesis), or None."""
    clause = _CLAUSE_END.split(before)[-1]
    words = clause.split()
    words = words[-min(len(short) + 5, len(short) * 2):]
    if not words:
        return None
    candidate = " ".join(words)
    s, pos = len(short) - 1, len(candidate) - 1
    while s >= 0:
        c = short[s].lower()
        if not c.isalnum():
            s -= 1
            continue
        # the first letter must start a word; the others may be anywhere in one
        while pos >= 0 and (candidate[pos].lower() != c
                            or (s == 0 and pos > 0 and candidate[pos - 1].isalnum())):
            pos -= 1
        if pos < 0:
            return None
        s -= 1
        pos -= 1
    long = candidate[pos + 1:].strip()
    if len(long) <= len(short) or short.lower() in long.lower().split():
        return None
    return long


def definitions(text: str) -> Glossary:
    """Every abbreviation `text` defines, first definition of each short form kept."""
    found: dict[str, str] = {}
    for match in _DEFINITION.finditer(text):
        short = match.group(1)
        if not any(ch.isupper() for ch in short) or short in found:
            continue
        begin = max(0, match.start() - WINDOW)
        before = text[begin:match.start()]
        if begin:  # the window may start inside a word
            before = before[before.find(" ") + 1:]
        long = _long_form(short, before)
        if long is None:
            continue
        found[short] = long
        if len(short) > 2 and short.endswith("s") and short[-2].isupper():
            singular = long[:-1] if long.endswith("s") else long
            found.setdefault(short[:-1], singular)
    return _indexed(found.items())


def _uses(short: str, text: str) -> Iterator[re.Match[str]]:
    return re.finditer(rf"(?<![A-Za-z0-9]){re.escape(short)}(?![A-Za-z0-9])", text)


# Every word of `text` that could be a short form used in it, at each place one may start:
# one pass over the text, where a regex per short form was a pass per entry of the glossary
# (and, past the `re` module's cache of 512 patterns, a compile each), for every chunk and
# every token count: a document defining 1,000 abbreviations took 7 minutes to chunk.
_CANDIDATE = re.compile(rf"(?<![A-Za-z0-9])(?=([A-Za-z0-9][\w\-]{{1,{MAX_SHORT - 1}}}))")


def _used(text: str, positions: dict[str, int]) -> set[int]:
    """The positions in the glossary of the short forms `_uses` finds in `text`."""
    found: set[int] = set()
    end = len(text)
    for match in _CANDIDATE.finditer(text):
        start, word = match.start(), match.group(1)
        for length in range(2, len(word) + 1):
            i = positions.get(word[:length])
            after = start + length
            if i is not None and (after == end or not (text[after].isascii()
                                                       and text[after].isalnum())):
                found.add(i)
    return found


def used_in(text: str, glossary: Glossary) -> Glossary:
    """The entries of `glossary` whose short form `text` uses without their long form."""
    if not glossary:
        return ()
    positions = getattr(glossary, "positions", None)
    if positions is None:
        positions = {short: i for i, (short, _) in enumerate(glossary)}
    lowered = text.lower()
    hits = sorted(_used(text, positions))
    return tuple(glossary[i] for i in hits if glossary[i][1].lower() not in lowered)


class _Indexed(tuple):
    """A glossary that knows where each short form is in it, so that `used_in` costs the
    length of the text, not that of the glossary (which can hold thousands)."""

    positions: dict[str, int]


def _indexed(entries: Iterable[tuple[str, str]]) -> Glossary:
    glossary = _Indexed(entries)
    glossary.positions = {short: i for i, (short, _) in enumerate(glossary)}
    return glossary


def expand(text: str, glossary: Glossary) -> str:
    """`text` with the long form after the first use of each short form in `glossary` that
    it uses without its long form: "LEMS in SCLC" -> "LEMS (Lambert-Eaton myasthenic
    syndrome) in SCLC (small cell lung cancer)". Where two short forms overlap ("MBI" in
    "MBI-C"), the longer one is spelled out there."""
    taken: list[tuple[int, int]] = []
    inserts: list[tuple[int, str]] = []
    for short, long in sorted(used_in(text, glossary), key=lambda entry: -len(entry[0])):
        match = next((m for m in _uses(short, text)
                      if not any(m.start() < e and s < m.end() for s, e in taken)), None)
        if match is None:
            continue
        taken.append(match.span())
        inserts.append((match.end(), long))
    for end, long in sorted(inserts, reverse=True):
        text = f"{text[:end]} ({long}){text[end:]}"
    return text
