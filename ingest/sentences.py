"""Sentence spans with exact character offsets.

Lines are always boundaries (paragraphs, list items and table rows are one line each in
cleaned text), and a table row as `ingest.tables` writes it ("Drug: Aspirin; Note: Take
with food. Avoid alcohol.", `ingest.tables.is_row_line`) is one sentence, whatever its cells
hold.
Inside a line, a sentence ends at `.`, `!` or `?` followed by whitespace and a capital,
digit, quote or bracket, except after common abbreviations ("e.g.", "i.e.", "Dr.", "et al.")
and initials. Decimals such as "1.6" never split because no whitespace follows the dot.
"""

from __future__ import annotations

import re

from ingest.tables import is_row_line

_ABBREVIATIONS = {
    "e.g", "i.e", "dr", "mr", "mrs", "ms", "prof", "vs", "etc", "al", "fig", "figs", "no",
    "vol", "approx", "ca", "cf", "st", "jr", "sr", "inc", "ltd", "co", "resp", "ref", "refs",
    "dept", "univ", "u.s", "u.k",
}
_BOUNDARY = re.compile(r"[.!?][\"”')\]]*\s+(?=[A-Z0-9\"“'(\[•])")
_WORD_BEFORE = re.compile(r"(?<![\w.])[\w.]+$")  # from a word's start only: linear
# Longer than any abbreviation: a longer word is neither an abbreviation nor an initial,
# whether it is seen whole or cut.
_LOOKBACK = 2 + max(len(a) for a in _ABBREVIATIONS)


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Spans (start, end) of the sentences in `text[start:end]`, stripped of whitespace."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    line_start = start
    while line_start < end:
        line_end = text.find("\n", line_start, end)
        if line_end == -1:
            line_end = end
        _split_line(text, line_start, line_end, spans)
        line_start = line_end + 1
    return spans


def _split_line(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    if is_row_line(text, start, end):
        _add(text, start, end, spans)
        return
    sent_start = start
    for match in _BOUNDARY.finditer(text, start, end):
        dot = match.start()
        # The word before the stop, looked for in the last few characters only: from the
        # sentence's start it was quadratic ("Dr. X Dr. X ..." never moves that start).
        word = _WORD_BEFORE.search(text[max(sent_start, dot - _LOOKBACK):dot])
        token = word.group(0).lower() if word else ""
        if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
            continue
        _add(text, sent_start, match.end(), spans)
        sent_start = match.end()
    _add(text, sent_start, end, spans)


def _add(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))
