"""Check a generated answer sentence by sentence against the sources it cites.

The model's draft is split into sentences; each sentence's markers [n] are read (markers
that point at no source are dropped) and the sentence, without them, is checked against the
evidence it cites with the support checker of the evaluation (`app.answer.support`: content-word
overlap weighted towards medical terms, plus hard checks that every number appears in the
cited text and that no negation is added or lost). The same checker scores faithfulness in
`citewise eval`, and its own accuracy on labelled pairs is in every eval report.

- Supported: kept, with the citations that support it; a citation that neither supports it
  alone nor is needed beside the others is dropped (citation precision as ALCE defines it).
- "Supported" holds for the cited evidence sentences and for the passages they sit in (the
  passage is what a citation shows and what the eval scores): the checker looks at the
  passage's best-matching sentence, which can be another one than the cited sentence.
- Cited sources fail (or none is cited), but one evidence sentence alone supports it: kept,
  cited to that one instead (the model cited the wrong number, or none). Two sentences
  together do not count: the eval checks each citation's passage as it is in the source,
  where the two are rarely adjacent, and a claim joining two facts is where a small model
  most often goes wrong.
- Otherwise, or with no content words: unsupported. Unsupported sentences are not part of
  the answer; they are returned, flagged, so that the user can see what was removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from ingest.text import CITATION_MARKER, citation_numbers, split_sentences

_REFUSAL = re.compile(
    r"(?:the )?(?:sources?|documents?|texts?) (?:do not|don't|does not|doesn't|did not) "
    r"(?:cover|answer|address|contain the answer to) (?:this|that|it|the question)\b",
    re.IGNORECASE)


@dataclass(frozen=True)
class CheckedSentence:
    text: str  # without citation markers
    cited: tuple[int, ...]  # evidence numbers (1-based) the sentence ends up citing
    supported: bool
    score: float
    reason: str = ""


def is_refusal(text: str) -> bool:
    """True when `text` is (or opens with) the no-answer sentence, or a variant of it."""
    return bool(_REFUSAL.match(" ".join(text.replace("’", "'").split())))


def split_claims(draft: str, n_evidence: int) -> list[tuple[str, tuple[int, ...]]]:
    """(sentence without markers, valid cited numbers) for each sentence of the draft."""
    out = []
    for start, end in split_sentences(draft):
        raw = draft[start:end].strip()
        cited: list[int] = []
        for n in citation_numbers(raw):
            if 1 <= n <= n_evidence and n not in cited:
                cited.append(n)
        text = " ".join(CITATION_MARKER.sub("", raw).split())
        text = re.sub(r"\s+([.,;:!?])", r"\1", text).lstrip("-*• ")
        if re.search(r"[A-Za-z0-9)]$", text):  # a list item the model wrote as a bullet
            text += "."
        if (text or cited) and not is_refusal(text):  # a closing "The sources don't ..."
            out.append((text, tuple(cited)))
    return [(text, cited) for text, cited in _merge_marker_only(out) if text]


def _merge_marker_only(claims: list[tuple[str, tuple[int, ...]]]
                       ) -> list[tuple[str, tuple[int, ...]]]:
    """A marker written after the full stop ("... muscle. [2]") splits off as a sentence of
    its own with no text; it belongs to the sentence before it."""
    merged: list[tuple[str, tuple[int, ...]]] = []
    for text, cited in claims:
        if merged and not re.search(r"[A-Za-z0-9]", text.rstrip(".")):
            prev_text, prev_cited = merged[-1]
            merged[-1] = (prev_text, prev_cited + tuple(c for c in cited if c not in prev_cited))
        else:
            merged.append((text, cited))
    return merged


@lru_cache(maxsize=1)
def _checker():
    from app.answer.support import SupportChecker

    return SupportChecker()


@dataclass(frozen=True)
class _Verdict:
    supported: bool
    score: float
    reasons: tuple[str, ...] = ()


def check_draft(draft: str, evidence: Sequence[str],
                passages: Sequence[str] | None = None) -> list[CheckedSentence]:
    """Check each sentence of `draft` against the `evidence` sentences it cites and, when
    given, against their `passages` (the chunk each one sits in, which its citation shows
    and the eval scores against); see the module docstring."""
    checker = _checker()

    def check(text: str, cited: Sequence[int]) -> _Verdict:
        result = checker.check(text, "\n\n".join(evidence[n - 1] for n in cited))
        if result.supported and passages is not None:
            around = checker.check(text, "\n\n".join(passages[n - 1] for n in cited))
            if not around.supported:
                return _Verdict(False, result.score, tuple(around.reasons) or (
                    "not supported by the cited passage as a whole",))
        return _Verdict(result.supported, result.score, tuple(result.reasons))

    out = []
    for text, cited in split_claims(draft, len(evidence)):
        if cited:
            verdict = check(text, cited)
            if verdict.supported:
                out.append(CheckedSentence(text, _needed(check, text, cited), True,
                                           verdict.score))
                continue
            reason = "; ".join(verdict.reasons) or "not supported by the cited sources"
        else:
            reason = "no citation"
        # the one evidence sentence that best supports it alone, supporting ones first
        alone = {n: check(text, (n,)) for n in range(1, len(evidence) + 1)}
        best = max(alone, key=lambda n: (alone[n].supported, alone[n].score), default=None)
        if best is not None and alone[best].supported:
            out.append(CheckedSentence(text, (best,), True, alone[best].score,
                                       "citation corrected" if cited else "citation added"))
        else:
            score = alone[best].score if best is not None else 0.0
            out.append(CheckedSentence(text, cited, False, score, reason))
    return out


def _needed(check: Callable[[str, Sequence[int]], _Verdict], text: str,
            cited: tuple[int, ...]) -> tuple[int, ...]:
    """`cited` less the citations the sentence does not need: those that do not support it
    alone and without which the others still do (citation precision as ALCE defines it)."""
    kept = list(cited)
    for n in cited:
        if len(kept) > 1 and not check(text, (n,)).supported:
            rest = [m for m in kept if m != n]
            if check(text, rest).supported:
                kept = rest
    return tuple(kept)
