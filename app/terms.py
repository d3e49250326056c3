"""Question terms in candidate sentences: which of the question's words a sentence holds,
weighted by how rare each is among the candidates ("thymoma" in one sentence of twenty
weighs more than "neuropathy" in most of them). Words as the lexical index sees them
(`index.lexical.tokenize`: lower-cased, stop words dropped, lightly stemmed).

Abbreviations defined in the candidates ("Lambert-Eaton myasthenic syndrome (LEMS)": the
initials of the words before the brackets spell it) stand for their long form, in the
question and in the sentences alike, so that "LEMS is characterized by ..." holds the terms
of a question that spells the name out, and the other way round.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from index.lexical import tokenize

_DEFINED = re.compile(r"((?:[A-Za-z][\w'’-]*\s+){1,10})\(([A-Z][A-Za-z]{1,9})\)")


def abbreviations(texts: Iterable[str]) -> dict[str, frozenset[str]]:
    """Abbreviation (as a term) -> the terms of its long form, from definitions in `texts`."""
    out: dict[str, frozenset[str]] = {}
    for text in texts:
        for m in _DEFINED.finditer(text):
            short = m.group(2)
            letters = (short[:-1] if short.endswith("s") and short[:-1].isupper()
                       else short).lower()
            words = re.findall(r"[A-Za-z]+", m.group(1))[-len(letters):]
            if len(words) == len(letters) and \
                    "".join(w[0] for w in words).lower() == letters:
                key = tokenize(short)
                if key:
                    out[key[0]] = frozenset(tokenize(" ".join(words)))
    return out


def terms(text: str, abbrev: dict[str, frozenset[str]] | None = None) -> set[str]:
    found = {t for t in tokenize(text) if len(t) > 1}
    for t in list(found):
        found |= (abbrev or {}).get(t, frozenset())
    return found


@dataclass(frozen=True)
class QuestionTerms:
    """The question's terms found in some candidate, each weighted log(1 + n / df)."""

    weights: dict[str, float]
    abbrev: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, question: str, texts: Sequence[str]) -> QuestionTerms:
        abbrev = abbreviations(texts)
        found = [terms(t, abbrev) for t in texts]
        weights = {}
        for term in terms(question, abbrev):
            df = sum(term in f for f in found)
            if df:
                weights[term] = math.log(1 + len(texts) / df)
        return cls(weights, abbrev)

    def terms(self, text: str) -> set[str]:
        return terms(text, self.abbrev)

    def share(self, text: str, exclude: set[str] | None = None) -> float:
        """The weighted share of the question's terms that `text` holds; `exclude`: terms
        already had, which count for nothing here."""
        total = sum(self.weights.values())
        held = self.terms(text) - (exclude or set())
        return sum(w for t, w in self.weights.items() if t in held) / total if total else 0.0

    def uniform(self) -> QuestionTerms:
        """The same terms, all weighing 1."""
        return QuestionTerms(dict.fromkeys(self.weights, 1.0), self.abbrev)

    def without(self, drop: set[str]) -> QuestionTerms:
        return QuestionTerms({t: w for t, w in self.weights.items() if t not in drop},
                             self.abbrev)
