"""Question terms in candidate sentences: which of the question's words a sentence holds,
weighted by how rare each is among the candidates ("thymoma" in one sentence of twenty
weighs more than "neuropathy" in most of them). Words as the lexical index sees them
(`ingest.text.search_words`: normalised, stop and negation words dropped, lightly
stemmed).

Abbreviations defined in the candidates ("Lambert-Eaton myasthenic syndrome (LEMS)", found
as at ingest by `ingest.abbreviations`) stand for their long form, in the
question and in the sentences alike, so that "LEMS is characterized by ..." holds the terms
of a question that spells the name out, and the other way round.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ingest.abbreviations import definitions
from ingest.text import search_words as tokenize

TERM_WEIGHT = 0.2  # of a sentence's question-term share, added to its score when ranking


def abbreviations(texts: Iterable[str]) -> dict[str, frozenset[str]]:
    """Abbreviation (as a term) -> the terms of its long form, from definitions in `texts`
    (`ingest.abbreviations.definitions`)."""
    out: dict[str, frozenset[str]] = {}
    for text in texts:
        for short, long in definitions(text):
            key = tokenize(short)
            if key:
                out.setdefault(key[0], frozenset(tokenize(long)))
    return out


def terms(text: str, abbrev: dict[str, frozenset[str]] | None = None) -> set[str]:
    found = {t for t in tokenize(text) if len(t) > 1}
    for t in list(found):
        found |= (abbrev or {}).get(t, frozenset())
    return found


_SOURCE_WORDS = frozenset(tokenize("according to both two articles sources documents papers "
                                   "texts study studies reports cited"))


@dataclass(frozen=True)
class QuestionTerms:
    """The question's terms found in some candidate, each weighted log(1 + n / df).
    `known`: the terms of each candidate text, worked out once in `of`."""

    weights: dict[str, float]
    abbrev: dict[str, frozenset[str]] = field(default_factory=dict)
    known: dict[str, set[str]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, question: str, texts: Sequence[str], missing: bool = False) -> QuestionTerms:
        """`missing`: keep the question's terms that no candidate holds too (as if one did),
        other than words that point at the sources ("according to the two articles")."""
        abbrev = abbreviations(texts)
        known = {t: terms(t, abbrev) for t in texts}
        found = [known[t] for t in texts]
        weights = {}
        for term in terms(question, abbrev):
            df = sum(term in f for f in found)
            if df or (missing and term not in _SOURCE_WORDS):
                weights[term] = math.log(1 + len(texts) / max(df, 1))
        return cls(weights, abbrev, known)

    def terms(self, text: str) -> set[str]:
        held = self.known.get(text)
        return set(held) if held is not None else terms(text, self.abbrev)

    def share(self, text: str, exclude: set[str] | None = None) -> float:
        """The weighted share of the question's terms that `text` holds; `exclude`: terms
        already had, which count for nothing here."""
        total = sum(self.weights.values())
        held = self.known.get(text)
        if held is None:
            held = terms(text, self.abbrev)
        if exclude:
            held = held - exclude
        return sum(w for t, w in self.weights.items() if t in held) / total if total else 0.0

    def uniform(self) -> QuestionTerms:
        """The same terms, all weighing 1."""
        return QuestionTerms(dict.fromkeys(self.weights, 1.0), self.abbrev, self.known)

    def without(self, drop: set[str]) -> QuestionTerms:
        return QuestionTerms({t: w for t, w in self.weights.items() if t not in drop},
                             self.abbrev, self.known)
