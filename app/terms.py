"""Question terms in candidate sentences: which of the question's words a sentence holds,
weighted by how rare each is among the candidates ("thymoma" in one sentence of twenty
weighs more than "neuropathy" in most of them). Words as the lexical index sees them
(`index.lexical.tokenize`: lower-cased, stop words dropped, lightly stemmed)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from index.lexical import tokenize


def terms(text: str) -> set[str]:
    return {t for t in tokenize(text) if len(t) > 1}


def term_weights(question: str, texts: Sequence[str]) -> dict[str, float]:
    """The question's terms found in some of `texts`, each weighted log(1 + n / df)."""
    found = [terms(t) for t in texts]
    weights = {}
    for term in terms(question):
        df = sum(term in f for f in found)
        if df:
            weights[term] = math.log(1 + len(texts) / df)
    return weights


def term_share(text: str, weights: dict[str, float], exclude: set[str] | None = None) -> float:
    """The weighted share of the question's terms (`weights`) that `text` holds; `exclude`:
    terms already had, which count for nothing here."""
    total = sum(weights.values())
    held = terms(text) - (exclude or set())
    return sum(w for t, w in weights.items() if t in held) / total if total else 0.0
