"""Labelled (claim, passage) pairs that measure the support checker (`app.answer.support`).

``build_labelled_pairs(source_texts, seed)`` takes every source sentence with at least 8 words
and 5 content words (citation markers and trailing reference numbers removed), distinct after
``normalise``, from a bounded sample of the corpus, and makes:

* ``verbatim`` (supported): the sentence against its passage, the sentence with one or two
  neighbouring sentences (as they appear in the source, markers included);
* ``number``: one standalone number changed to a value absent from the passage;
* ``negation``: the first negation word removed (``without`` -> ``with``, ``absent`` ->
  ``present``), or, if there is none, ``not`` inserted after the first auxiliary verb;
* ``entity``: one medical term replaced by another term of the same kind found in the corpus
  (organs, minerals, acronyms, or words sharing a medical suffix such as -pathy or -oma);
* ``cross``: the sentence's subject (its words before its first auxiliary verb) joined to
  the predicate of its neighbour (from the neighbour's first auxiliary on), against the
  passage of the two ("LEMS is treated with plasma exchange." from "LEMS is rare." and
  "Myasthenia gravis is treated with plasma exchange."): a fact moved to another
  subject. Only where the two share no subject word and neither opens by referring
  back (then the neighbour's subject may be the sentence's own, and the claim true);
* ``unrelated``: a sentence from another source text (or far away in the same one) paired with
  this passage.

The perturbed pairs are labelled unsupported. ``balanced_accuracy(checker, pairs)`` is the mean
of the recall on supported pairs and the recall on unsupported pairs.

The sample keeps the work bounded whatever the size of the sources folder (it used to be
quadratic: each sentence's "unrelated" pair scanned every other sentence of the corpus, more
than 5 minutes for 3,000 abstracts). With ``sampler = random.Random(seed)``, a generator of its
own so that the pairs of a corpus within the bounds are exactly those of the unbounded build:

1. at most ``MAX_TEXTS`` (50) source texts: ``sampler.sample`` of the text indices when there
   are more, kept in corpus order; the entity vocabulary is taken from these texts only;
2. at most ``MAX_SENTENCES`` (500) usable sentences of those texts: ``sampler.sample`` of them
   when there are more, kept in corpus order.

So at most 500 sentences make at most 3,000 pairs (one verbatim, four perturbed and one
unrelated each), and the "unrelated" scan is at most 500 x 500 comparisons of normalised texts
computed once. The default sources (2 texts, 71 usable sentences) are below both bounds and
give the same pairs as the unbounded build. ``progress=True`` shows tqdm bars on stderr.

Perturbations are easy to catch: the checker's authors wrote both. The harder test is
``load_labelled_pairs()``: answer sentences the packaged model wrote for the gold questions,
each with the evidence it cited, labelled by hand (``gold/checker_generated.jsonl``; the
rules are in the function). Both figures are in every eval report.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from app.answer.support import AUX_RE, SupportResult, clause_subject
from ingest.progress import bar as progress_bar
from ingest.text import (
    content_words,
    normalise,
    number_value,
    numbers,
    refers_back,
    split_sentences,
    stem,
    strip_citation_markers,
)


@dataclass(frozen=True)
class LabelledPair:
    claim: str
    passage: str
    supported: bool
    kind: str
    """One of "verbatim", "number", "negation", "entity", "cross", "unrelated" (built from the
    sources), or "generated" (a model's answer sentence, labelled by hand:
    `load_labelled_pairs`)."""


def _words(s: str) -> tuple[str, ...]:
    return tuple(s.split())


_ENTITY_CLASSES: tuple[frozenset[str], ...] = (
    frozenset(
        _words(
            """
            lung lungs breast breasts ovary ovaries ovarian prostate colon liver kidney kidneys
            brain heart skin bone thyroid pancreas pancreatic stomach bladder bronchial thymus
            cervix uterus
            """
        )
    ),
    frozenset(_words("calcium potassium sodium chloride magnesium iron zinc phosphate")),
    frozenset(_words("proximal distal")),
    frozenset(_words("sensory motor autonomic")),
)
_SWAP_SUFFIXES = _words(
    "pathy pathies oma omas itis osis emia ium plasm trophy phagy exia axia clonus tonia amide "
    "oline globulin steroids cytes"
)
MAX_TEXTS = 50
"""Source texts sampled for the built pairs (all of them when there are no more)."""
MAX_SENTENCES = 500
"""Usable sentences sampled from those texts (all of them when there are no more)."""

_NUM_RE = re.compile(r"(?<![\w.,])\d+(?:\.\d+)?(?![\w]|\.\d)")
_WORD_RE = re.compile(r"[^\W\d_][^\W\d_-]*")


def _perturb_number(claim: str, passage: str, rng: random.Random) -> str | None:
    matches = list(_NUM_RE.finditer(claim))
    if not matches:
        return None
    m = rng.choice(matches)
    taken = {number_value(n) for n in numbers(passage)}
    old = m.group()
    percent = claim[m.end() : m.end() + 1] == "%"
    if "." in old:
        whole, frac = old.split(".")
        options = [f"{int(whole) + d}.{frac}" for d in (1, 2, 3, 5)]
    else:
        n = int(old)
        options = [str(v) for v in (n + 1, n + 2, n * 2 + 3, n + 10, n + 25) if v >= 0]
    options = [
        o for o in options if o not in taken and o != old and not (percent and float(o) > 100)
    ]
    if not options:
        return None
    return claim[: m.start()] + rng.choice(options) + claim[m.end() :]


def _perturb_negation(claim: str) -> str | None:
    m = re.search(r"\b(not|never|no)\s+", claim, flags=re.IGNORECASE)
    if m:
        return claim[: m.start()] + claim[m.end() :]
    for word, repl in (("without", "with"), ("absent", "present"), ("cannot", "can")):
        m = re.search(rf"\b{word}\b", claim, flags=re.IGNORECASE)
        if m:
            return claim[: m.start()] + repl + claim[m.end() :]
    m = AUX_RE.search(claim)
    if m:
        return claim[: m.end()] + "not " + claim[m.end() :]
    return None


def _entity_class(word: str, vocab: set[str]) -> set[str]:
    """Corpus words (lower-case) of the same kind as ``word``, ``word`` excluded."""
    lw = word.lower()
    for cls in _ENTITY_CLASSES:
        if lw in cls:
            return {v for v in vocab if v in cls and stem(v) != stem(lw)}
    if len(word) >= 3 and word.isupper():
        return {v for v in vocab if v.isupper() and len(v) >= 3 and v != word}
    for suf in _SWAP_SUFFIXES:
        if lw.endswith(suf) and len(lw) >= len(suf) + 3:
            return {
                v
                for v in vocab
                if v.islower()
                and v.endswith(suf)
                and len(v) >= len(suf) + 3
                and stem(v) != stem(lw)
                and lw not in v
                and v not in lw
            }
    return set()


def _perturb_entity(claim: str, vocab: set[str], rng: random.Random) -> str | None:
    claim_stems = {stem(w.lower()) for w in _WORD_RE.findall(claim)}
    options = []
    for m in _WORD_RE.finditer(claim):
        alts = sorted(
            a for a in _entity_class(m.group(), vocab) if stem(a.lower()) not in claim_stems
        )
        if alts:
            options.append((m, alts))
    if not options:
        return None
    m, alts = rng.choice(options)
    new = rng.choice(alts)
    if m.group()[0].isupper() and not new.isupper():
        new = new[0].upper() + new[1:]
    return claim[: m.start()] + new + claim[m.end() :]


def _perturb_cross(text: str, spans: list[tuple[int, int]], i: int,
                   claim: str) -> tuple[str, str] | None:
    """Sentence ``i``'s subject (``claim``, its text) with its next neighbour's predicate
    (the one before when it is the last), and the passage of the two; None where the module
    docstring says the claim could be true, or either has no auxiliary verb."""
    j = i + 1 if i + 1 < len(spans) else i - 1
    if j < 0:
        return None
    other = strip_citation_markers(text[spans[j][0]:spans[j][1]])
    mine, theirs = AUX_RE.search(claim), AUX_RE.search(other)
    if mine is None or theirs is None or refers_back(claim) or refers_back(other):
        return None
    subject, predicate = claim[:mine.start()], other[theirs.start():]
    claim_words, other_words = set(content_words(claim)), set(content_words(other))
    subject_words = set(content_words(subject))
    if (not subject_words or subject_words & other_words
            or clause_subject(other) & claim_words
            or len(set(content_words(predicate)) - claim_words) < 2):
        return None
    lo, hi = min(i, j), max(i, j)
    return subject + predicate, text[spans[lo][0]:spans[hi][1]]


def _bar(items: Iterable, progress: bool, desc: str, unit: str, total: int | None = None):
    """``items``, with the progress bar (``ingest.progress``) when ``progress``."""
    return progress_bar(items, enabled=progress, desc=desc, unit=unit, total=total)


def sample_sentences(
    source_texts: Sequence[str], seed: int, max_texts: int | None = MAX_TEXTS,
    max_sentences: int | None = MAX_SENTENCES,
) -> tuple[list[int], list[tuple[int, int, str, list[tuple[int, int]]]]]:
    """The sampled text indices and usable sentences ``(text index, sentence index, claim,
    sentence spans of the text)`` that ``build_labelled_pairs`` works on (bounds: the module
    docstring; ``None`` = no bound)."""
    sampler = random.Random(seed)
    chosen = list(range(len(source_texts)))
    if max_texts is not None and len(chosen) > max_texts:
        chosen = sorted(sampler.sample(chosen, max_texts))
    items: list[tuple[int, int, str, list[tuple[int, int]]]] = []
    seen: set[str] = set()
    for t in chosen:
        text = source_texts[t]
        spans = split_sentences(text)
        for i, (a, b) in enumerate(spans):
            claim = strip_citation_markers(text[a:b])
            key = normalise(claim)
            if len(claim.split()) < 8 or len(content_words(claim)) < 5 or key in seen:
                continue
            seen.add(key)
            items.append((t, i, claim, spans))
    if max_sentences is not None and len(items) > max_sentences:
        keep = sorted(sampler.sample(range(len(items)), max_sentences))
        items = [items[k] for k in keep]
    return chosen, items


def build_labelled_pairs(
    source_texts: Sequence[str], seed: int, progress: bool = False,
    max_texts: int | None = MAX_TEXTS, max_sentences: int | None = MAX_SENTENCES,
) -> list[LabelledPair]:
    """Supported and perturbed (unsupported) claim/passage pairs from a bounded, seeded
    sample of the source sentences (module docstring)."""
    rng = random.Random(seed)
    chosen, items = sample_sentences(source_texts, seed, max_texts, max_sentences)
    vocab: set[str] = set()
    for t in chosen:
        for w in _WORD_RE.findall(source_texts[t]):
            vocab.add(w if w.isupper() else w.lower())
    several = len(chosen) > 1
    normalised = [normalise(c) for (_, _, c, _) in items]

    pairs: list[LabelledPair] = []
    for t, i, claim, spans in _bar(items, progress, "checker pairs", "sentence"):
        text = source_texts[t]
        before, after = rng.choice([(1, 0), (0, 1), (1, 1), (2, 0), (0, 2)])
        lo, hi = max(0, i - before), min(len(spans) - 1, i + after)
        passage = text[spans[lo][0] : spans[hi][1]]
        pairs.append(LabelledPair(claim, passage, True, "verbatim"))

        perturbed = [
            ("number", _perturb_number(claim, passage, rng)),
            ("negation", _perturb_negation(claim)),
            ("entity", _perturb_entity(claim, vocab, rng)),
        ]
        for kind, new in perturbed:
            if new is not None and new != claim:
                pairs.append(LabelledPair(new, passage, False, kind))
        crossed = _perturb_cross(text, spans, i, claim)
        if crossed is not None:
            pairs.append(LabelledPair(*crossed, False, "cross"))

        norm_passage = normalise(passage)
        others = [
            c
            for (t2, i2, c, _), nc in zip(items, normalised, strict=True)
            if (t2 != t if several else abs(i2 - i) > 3) and nc not in norm_passage
        ]
        if others:
            pairs.append(LabelledPair(rng.choice(others), passage, False, "unrelated"))
    return pairs


GENERATED_PAIRS = Path(__file__).parent / "gold" / "checker_generated.jsonl"


def load_labelled_pairs(path: Path = GENERATED_PAIRS) -> list[LabelledPair]:
    """Hand-labelled pairs of real generated sentences: one JSON object a line with `claim`
    (an answer sentence of the packaged model, citation markers removed), `evidence` (the
    evidence sentences it cited, or the one verification chose for an uncited sentence),
    `supported` (does the evidence state everything the claim says?), the gold `question_id`
    and the `corpus` the model answered from ("default" or "distractors"; the latter were
    labelled after the checker's last change, so they were not used to make it). The
    labelling rules:
    a phrase attributing the claim to the sources ("According to both articles,") is not
    judged, the content after it is; a paraphrase counts as supported when it means the
    same; a claim that adds anything (a mechanism, a symptom, a framing such as "apart from
    X, the key factors are") is not supported. Claims the labeller could not decide were left
    out (a typo in the source, a garbled sentence)."""
    pairs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            pairs.append(LabelledPair(row["claim"], row["evidence"], bool(row["supported"]),
                                      "generated"))
    return pairs


class Checker(Protocol):
    """Anything with a ``check(sentence, passage) -> SupportResult`` method."""

    def check(self, sentence: str, passage: str) -> SupportResult: ...


def judged(checker: Checker, pairs: Sequence[LabelledPair], progress: bool = False,
           desc: str = "support checker") -> list[bool]:
    """The checker's verdict (supported or not) on each pair, in order."""
    return [checker.check(p.claim, p.passage).supported
            for p in _bar(pairs, progress, desc, "pair")]


def balanced_accuracy_of(pairs: Sequence[LabelledPair], said: Sequence[bool]) -> float:
    """Mean of recall on supported pairs and recall on unsupported pairs, given the
    verdicts ``said`` (``judged``)."""
    pos = sum(p.supported for p in pairs)
    neg = len(pairs) - pos
    if not pos or not neg:
        raise ValueError("balanced accuracy needs both supported and unsupported pairs")
    tp = sum(p.supported and v for p, v in zip(pairs, said, strict=True))
    tn = sum(not p.supported and not v for p, v in zip(pairs, said, strict=True))
    return (tp / pos + tn / neg) / 2


def balanced_accuracy(checker: Checker, pairs: Sequence[LabelledPair],
                      progress: bool = False, desc: str = "support checker") -> float:
    """Mean of recall on supported pairs and recall on unsupported pairs."""
    return balanced_accuracy_of(pairs, judged(checker, pairs, progress, desc))


def right_by_kind(pairs: Sequence[LabelledPair], said: Sequence[bool]) -> dict[str, float]:
    """Per kind of pair, the share of the verdicts ``said`` (``judged``) that are right
    (supported for "verbatim", unsupported for a perturbation): which mistakes the checker
    lets through."""
    right: dict[str, list[bool]] = {}
    for p, v in zip(pairs, said, strict=True):
        right.setdefault(p.kind, []).append(v == p.supported)
    return {kind: round(sum(r) / len(r), 4) for kind, r in sorted(right.items())}
