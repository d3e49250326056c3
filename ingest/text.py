"""Small, deterministic text helpers shared by ``eval.metrics`` and ``app.answer.support``.

Only the standard library is used. Every helper is pure and documented here:

``normalise(s)``
    Unicode NFKC, curly quotes to ``'``/``"``, every dash or minus variant to ``-``,
    lower-case, runs of whitespace collapsed to one space, ends stripped.

``content_words(s)``
    Tokens made of letters/digits, in order, with duplicates kept. A number token keeps its
    decimal part and a directly following percent sign (``"1.6%"``, ``"50 %"`` -> ``"50%"``);
    thousands separators are dropped (``"1,000"`` -> ``"1000"``). Hyphenated words give one
    token per part (``"Lambert-Eaton"`` -> ``lambert``, ``eaton``). ``n't`` and ``cannot``
    become ``not``. Single letters and the words in ``STOP_WORDS`` are dropped; negation words
    (not, no, never, without, ...) are deliberately *not* stop words. A single digit glued to
    the end of a lower-case word (``"diagnosis1."``) is a footnote marker and is removed.
    Alphabetic tokens are stemmed by ``stem``.

``search_words(s)``
    ``content_words`` without the negation words: the words retrieval matches on.

``stem(word)``
    A tiny conservative suffix stripper, applied to lower-case alphabetic words longer than 3
    letters. At most one rule of each step fires:

    1. plurals: ``-ies`` -> ``-y`` (therapies -> therapy); ``-sses`` -> ``-ss``;
       ``-es`` after s/x/z/ch/sh -> drop ``es`` (reflexes -> reflex); otherwise a final ``-s``
       is dropped unless the word ends in ``-ss``, ``-us`` or ``-is`` (patients -> patient,
       but loss, virus, diagnosis stay).
    2. ``-ing``, ``-ed`` (when at least 4 letters remain) or ``-ly`` (when at least 5 letters
       remain) is dropped (developing -> develop, caused -> caus, rapidly -> rapid).
    3. a final ``-e`` is dropped when at least 4 letters remain, so that the forms of one
       verb meet (cause, causes, caused, causing -> caus).

    0. (before the others) British spellings become American ones, so that "tumour" meets
       "tumor" and "anaemia" "anemia": ``-our`` -> ``-or`` in words of 6+ letters (tumour,
       behaviours; not hour, four); ``ae`` -> ``e`` after a letter (haemorrhage, leukaemia,
       paediatric); a leading ``oe`` -> ``e`` (oedema, oesophagus, oestrogen), ``oea`` ->
       ``ea`` (diarrhoea) and ``foet`` -> ``fet``; ``-ise``/``-yse`` forms -> ``-ize``/``-yze``
       after 3+ letters (characterised, analysing, organisation).

    Stems are not words; they are only compared with other stems.

``numbers(s)``
    The set of numbers that stand as their own token, each optionally with a unit, normalised:
    thousands separators dropped, a percent sign glued (``"50 %"``, ``"50 percent"`` ->
    ``"50%"``), a unit after one space in singular canonical form (``"2 years"``, ``"2-year"``
    -> ``"2 year"``, ``"5mg"`` -> ``"5 mg"``). Ignored: digits glued to a word
    (``"neuropathy2."``, ``"CD4"``, ``"B12"``) and bracketed citation markers (``"[2]"``,
    ``"[1, 3]"``). Spelled-out numbers (``"two"``) are not recognised.

``split_sentences(text)``
    ``(start, end)`` character spans of sentences, so that ``text[start:end]`` is a sentence
    without surrounding whitespace or a leading bullet glyph. It is the index's own splitter
    (``ingest.sentences.split_sentences``: newlines are boundaries, abbreviations and
    decimals do not split), so eval judges the sentences the answers are made of. Spans
    without any letter or digit are dropped.

``strip_citation_markers(s)``
    Removes bracketed markers (``[2]``, ``[1, 3]``), single footnote digits glued to a word
    (``diagnosis1.``) and trailing reference numbers standing before the final stop
    (``"... gravis 1."`` -> ``"... gravis."``, ``"... cancer 6, 2"`` -> ``"... cancer"``).
    The last rule (off with ``trailing_numbers=False``) removes any 1-3 digit number(s) ending a
    sentence after a word, so it would also remove a genuine ``"... a dose of 50."``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from ingest.sentences import split_sentences as _ingest_split


def _words(s: str) -> frozenset[str]:
    return frozenset(s.split())


STOP_WORDS: frozenset[str] = _words(
    """
    a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each either etc
    few for from further had has have having he her here hers him his how however i if in into
    is it its itself just may me might more most much must my of off on once only or other our
    ours out over own per same shall she should since so some such than that the their theirs
    them then there these they this those through thus to too under until up upon us very via
    was we were what when where whether which while who whom whose why will with within would
    you your yours herself himself myself ourselves themselves yourself yourselves
    """
)
"""The one English stop list (BM25, question terms, the support checker, the metrics, chat
topics). Negation words are intentionally absent: "not" changes what a sentence says."""

NEGATION_WORDS: frozenset[str] = _words(
    "not no never without absent none neither nor non lack lacks lacking cannot"
)
"""Words that flip the polarity of a statement (used by the support checker)."""

"""Words (lower-case, without their final point) after which a point does not end a sentence."""

_SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2032"
_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_QUOTES = str.maketrans(
    _SINGLE_QUOTES + _DOUBLE_QUOTES + _DASHES,
    "'" * len(_SINGLE_QUOTES) + '"' * len(_DOUBLE_QUOTES) + "-" * len(_DASHES),
)
_WS_RE = re.compile(r"\s+")
# A single digit glued to a lower-case word: a footnote marker ("diagnosis1.", "neuropathy2").
_FOOTNOTE_RE = re.compile(r"(?<=[a-z]{2})\d(?![\w%])")
# A citation marker: [2], [1, 3], [1-3] or [1–3] (any dash). The one marker rule: answers'
# markers are read (`citation_numbers`), stripped and checked with it.
CITATION_MARKER = re.compile(r"\s*\[(\d+(?:\s*[,;\-" + _DASHES + r"]\s*\d+)*)\]")
_BRACKET_MARKER_RE = CITATION_MARKER
_TRAILING_REF_RE = re.compile(r"(?<=[^\W\d_]|\))\s+\d{1,3}(?:\s*,\s*\d{1,3})*\s*([.!?]?)\s*$")
_PERCENT_RE = re.compile(r"(\d)\s*(?:%|\bper\s?cent\b)")
_TOKEN_RE = re.compile(r"\d+(?:,\d{3})*(?:\.\d+)?%?(?![^\W_]|\.\d)|[^\W_]+")

_UNIT_FORMS = {
    "year": "year years yr yrs",
    "month": "month months mo",
    "week": "week weeks wk wks",
    "day": "day days",
    "hour": "hour hours hr hrs h",
    "minute": "minute minutes mins",
    "second": "second seconds sec secs",
    "mcg": "mcg \u00b5g \u03bcg ug",
    "unit": "unit units",
    "mg": "mg", "g": "g", "kg": "kg", "ng": "ng", "ml": "ml", "dl": "dl", "mmol": "mmol",
    "meq": "meq", "iu": "iu", "cm": "cm", "mm": "mm", "mmhg": "mmhg", "bpm": "bpm",
    "times": "times",
}  # fmt: skip
_UNITS: dict[str, str] = {
    form: unit for unit, forms in _UNIT_FORMS.items() for form in forms.split()
}
_UNIT_ALT = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
_NUMBER_RE = re.compile(
    r"(?<![\w.,])(\d+(?:,\d{3})*(?:\.\d+)?)"
    r"(?:(%)|[ \-]?(" + _UNIT_ALT + r")(?:/(kg|dl|l|ml|day|d|m2|min|h))?(?![\w%])|(?![\w%]|\.\d))"
)


def normalise(s: str) -> str:
    """Lower-case ``s``, unify quotes and dashes to ASCII and collapse whitespace."""
    s = unicodedata.normalize("NFKC", s).translate(_QUOTES)
    return _WS_RE.sub(" ", s.lower()).strip()


_BRITISH = (
    (re.compile(r"(?<=\w{3})our(?=(?:s|ed|ing|able|ite|ites)?$)"), "or"),
    (re.compile(r"(?<=\w)ae"), "e"),
    (re.compile(r"^oe(?=[a-z])"), "e"),
    (re.compile(r"oea"), "ea"),
    (re.compile(r"^foet"), "fet"),
    (re.compile(r"(?<=\w{3})([iy])s(?=e$|es$|ed$|ing$|ation$|ations$)"), r"\1z"),
)


def american(word: str) -> str:
    """``word`` (lower case) in American spelling (step 0 of ``stem``)."""
    for pattern, repl in _BRITISH:
        word = pattern.sub(repl, word)
    return word


def stem(word: str) -> str:
    """Conservatively strip an English suffix from a lower-case word (see module docstring)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    w = american(word)
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses") or (w.endswith("es") and w[:-2].endswith(("s", "x", "z", "ch", "sh"))):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix, keep in (("ing", 4), ("ed", 4), ("ly", 5)):
        if w.endswith(suffix) and len(w) - len(suffix) >= keep:
            w = w[: -len(suffix)]
            break
    if w.endswith("e") and len(w) - 1 >= 4:
        w = w[:-1]
    return w


# Words repeat (a corpus of millions of tokens has ~100k distinct words), so each is
# stemmed once: tokenizing a question's ~200 candidate sentences is on every search.
_stem = lru_cache(maxsize=1 << 18)(stem)


def _strip_footnotes(s: str) -> str:
    return _FOOTNOTE_RE.sub("", s)


def tokens(s: str) -> list[str]:
    """All letter/digit tokens of ``s`` (normalised, footnote digits removed, not stemmed)."""
    text = normalise(_strip_footnotes(s))
    text = _PERCENT_RE.sub(r"\1%", text)
    text = text.replace("n't", " not").replace("cannot", "can not")
    out = []
    for tok in _TOKEN_RE.findall(text):
        if tok[0].isdigit():
            tok = tok.replace(",", "")
        out.append(tok)
    return out


def content_words(s: str) -> list[str]:
    """Stemmed content words of ``s`` in order (see module docstring for the exact rules)."""
    out = []
    for tok in tokens(s):
        if tok in STOP_WORDS or (len(tok) == 1 and not tok.isdigit()):
            continue
        out.append(_stem(tok) if tok.isalpha() else tok)
    return out


def search_words(s: str) -> list[str]:
    """What retrieval matches (BM25, question terms): ``content_words`` less negation words,
    which say how a statement is meant, not what it is about (kept in BM25, "not" matched
    every sentence with a negation: recall@5 on the gold set fell from 0.960 to 0.952)."""
    return [w for w in content_words(s) if w not in NEGATION_WORDS]


def numbers(s: str) -> set[str]:
    """Normalised numbers (with unit or percent when present) standing as their own token."""
    text = unicodedata.normalize("NFKC", s).translate(_QUOTES)
    text = _BRACKET_MARKER_RE.sub(" ", _strip_footnotes(text)).lower()
    text = _PERCENT_RE.sub(r"\1%", text)
    found: set[str] = set()
    for m in _NUMBER_RE.finditer(text):
        value = m.group(1).replace(",", "")
        if m.group(2):
            found.add(value + "%")
        elif m.group(3):
            unit = _UNITS[m.group(3)]
            if m.group(4):
                unit += "/" + m.group(4)
            found.add(f"{value} {unit}")
        else:
            found.add(value)
    return found


def number_value(n: str) -> str:
    """The bare value of a ``numbers`` item: ``"2 year"`` -> ``"2"``, ``"1.6%"`` -> ``"1.6"``."""
    return n.split(" ")[0].rstrip("%")


def marker_numbers(group: str) -> list[int]:
    """The numbers of one marker's inside ("1, 3", "2-4" -> 2, 3, 4), in order."""
    out: list[int] = []
    for part in re.split(r"\s*[,;]\s*", group.translate(_QUOTES)):
        if "-" in part:
            lo, hi = (int(x) for x in re.split(r"\s*-\s*", part))
            out.extend(range(lo, hi + 1) if lo <= hi else [lo, hi])
        else:
            out.append(int(part))
    return out


def citation_numbers(text: str) -> list[int]:
    """Every citation number in the ``[n]``, ``[n, m]`` and ``[n-m]`` markers of ``text``."""
    return [n for m in CITATION_MARKER.finditer(text) for n in marker_numbers(m.group(1))]


def strip_citation_markers(s: str, trailing_numbers: bool = True) -> str:
    """Remove ``[n]`` markers, glued footnote digits and (optionally) trailing reference
    numbers."""
    s = _BRACKET_MARKER_RE.sub("", s)
    s = _strip_footnotes(s)
    if trailing_numbers:
        s = _TRAILING_REF_RE.sub(r"\1", s.rstrip())
    return s.strip()


_BULLET_RE = re.compile(r"[\s\u2022\u25aa\u25cf\u25e6\u2023\u2043\u00b7*\-\u2013\u2014>]*")


_REFERS_BACK = re.compile(r"(?:This|These|Those|Such|They|Their|Both|The latter|The former|"
                          r"The (?:same|condition|disease|patient|case|syndrome)s?)\b")


def refers_back(sentence: str) -> bool:
    """The sentence opens with words that point at the one before it ("These include
    ...", "The condition ..."): alone it says little."""
    return bool(_REFERS_BACK.match(sentence))


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` over ``text``: the splitter the index uses
    (``ingest.sentences``), with a leading list bullet left out of each span."""
    spans: list[tuple[int, int]] = []
    for a, b in _ingest_split(text):
        a = _BULLET_RE.match(text, a, b).end()  # type: ignore[union-attr]
        if b > a and any(c.isalnum() for c in text[a:b]):
            spans.append((a, b))
    return spans


def ungrounded_numbers(sentence: str, passages: Sequence[str]) -> set[str]:
    """Numbers in ``sentence`` that occur in none of ``passages``."""
    source: set[str] = set()
    for p in passages:
        source |= numbers(p)
    values = {number_value(n) for n in source}
    out = set()
    for n in numbers(sentence):
        bare = n == number_value(n)
        if n in source or (bare and n in values):
            continue
        out.add(n)
    return out
