"""A deterministic checker deciding whether a sentence (a claim) is supported by a passage.

Used by the evaluation (``supports`` functions for ``eval.metrics``) and later to verify LLM
answers. Only the standard library and numpy; an embedding function may be injected.

Method of ``SupportChecker.check(claim, passage)``
---------------------------------------------------
1. Citation markers ``[n]`` and glued footnote digits are removed from the claim
   (``strip_citation_markers(claim, trailing_numbers=False)``), and so is an opening that
   attributes it to the sources ("According to both articles,", "The X article states
   that": ``without_attribution``); the words source, article and document do not count.
   An acronym that one side uses and the other spells out (LEMS, "Lambert-Eaton myasthenic
   syndrome": initials of content words joined by spaces or hyphens that spell it) is
   written both ways in the passage (``with_acronyms``). Claim words are
   ``eval.text.content_words`` (stemmed, stop words dropped), counted once each. A word is a
   *key term* (weight 2, other words weight 1) when it is a number, a capitalised word not
   opening the sentence or an all-caps acronym, or a medical-looking word: a medical suffix
   (-itis, -oma, -pathy, -ium, ...), prefix (neuro-, cardi-, immun-, ...) or a word of a small
   built-in lexicon of organs, minerals and the like (``_KEY_LEXICON``).
2. The passage is split into sentences (``eval.text.split_sentences``). Candidate *sources* are
   each sentence, and each pair of adjacent sentences when both sentences contribute at least
   two claim words the other lacks (a genuine merge, so one stray word borrowed from a
   neighbour does not make a source). The lexical score of a source is the weighted share of
   claim words it contains. With ``embed`` the score of a source is
   ``(1 - embed_weight) * lexical + embed_weight * max(0, cosine(claim, source))``.
   The best-scoring source is the *best source sentence*.
3. Penalty: ``-term_penalty`` for each key term of the claim absent from the best source,
   whether it is absent from the whole passage (an invented or swapped entity) or found
   elsewhere in it (a term borrowed from a neighbouring sentence).
4. Hard checks, each making the claim unsupported whatever the score:
   * number agreement: every ``eval.text.numbers`` item of the claim occurs in the passage
     (same rule as ``eval.metrics.ungrounded_numbers``);
   * negation agreement with the best source: the claim may not carry more negation words
     (``eval.text.NEGATION_WORDS``) than the source, nor fewer than the number of source
     negations whose scope it repeats (scope: the next two content words after the negation
     word, the previous two for post-positive "absent"/"lacking").
5. ``supported = no hard failure and score >= threshold``.

Labelled pairs
--------------
``build_labelled_pairs(source_texts, seed)`` takes every source sentence with at least 8 words
and 5 content words (citation markers and trailing reference numbers removed) and makes:

* ``verbatim`` (supported): the sentence against its passage, the sentence with one or two
  neighbouring sentences (as they appear in the source, markers included);
* ``number``: one standalone number changed to a value absent from the passage;
* ``negation``: the first negation word removed (``without`` -> ``with``, ``absent`` ->
  ``present``), or, if there is none, ``not`` inserted after the first auxiliary verb;
* ``entity``: one medical term replaced by another term of the same kind found in the corpus
  (organs, minerals, acronyms, or words sharing a medical suffix such as -pathy or -oma);
* ``unrelated``: a sentence from another source text (or far away in the same one) paired with
  this passage.

The perturbed pairs are labelled unsupported. ``balanced_accuracy(checker, pairs)`` is the mean
of the recall on supported pairs and the recall on unsupported pairs.

Perturbations are easy to catch: the checker's authors wrote both. The harder test is
``load_labelled_pairs()``: answer sentences the packaged model wrote for the gold questions,
each with the evidence it cited, labelled by hand (``gold/checker_generated.jsonl``; the
rules are in the function). Both figures are in every eval report.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Protocol

import numpy as np

from eval.metrics import ungrounded_numbers
from eval.text import (
    NEGATION_WORDS,
    STOP_WORDS,
    content_words,
    normalise,
    number_value,
    numbers,
    split_sentences,
    stem,
    strip_citation_markers,
    tokens,
)

EmbedFn = Callable[[list[str]], np.ndarray]


def _words(s: str) -> tuple[str, ...]:
    return tuple(s.split())


_MED_SUFFIXES = _words(
    """
    itis osis oma omas emia aemia pathy pathies plasia plasm ectomy otomy ostomy scopy graphy
    cyte cytes blast genic genesis lysis trophy algia plegia penia kinase lipase protease ium
    amide oride tide oxide amine oline idine azine phine inine caine mab nib cillin mycin azole
    pril sartan statin olol phylaxis exia axia clonus tonia uria globulin steroid steroids phagy
    """
)
_MED_PREFIXES = _words(
    """
    neur myo myas cardi hepat nephr onco immun hemat haem gastr derm endocrin cyto patho pharm
    antibod antigen lymph thym pulmon bronch carcin tumo cortic enceph mening psych osteo arthr
    glyc vascul angi thromb leuk erythr autoimm chemo radio metasta malign benign syndrom
    paraneo epithel seroneg
    """
)
_KEY_LEXICON = frozenset(
    _words(
        """
        lung lungs breast breasts ovary ovaries ovarian prostate prostatic colon colorectal
        rectal liver hepatic kidney kidneys renal brain cerebral heart skin bone bones blood
        muscle muscles nerve nerves spinal spine thyroid pancreas pancreatic stomach gastric
        bladder cervix cervical uterus uterine endometrial testis testicular eye eyes retina ear
        throat larynx chest abdomen bowel intestine intestinal esophagus oesophagus skull limb
        limbs arm leg hand foot calcium potassium sodium chloride magnesium iron zinc phosphate
        copper iodine glucose insulin vitamin cholesterol protein hormone enzyme acid cancer
        cancers virus viral bacteria bacterial fungal infection sepsis fever pain dose doses
        tablet injection intravenous oral sensory motor autonomic proximal distal child children
        infant adult adults elderly women men male female pregnant pregnancy smoking alcohol
        """
    )
)
"""Lower-case word forms that are key terms whatever their shape."""
_AUX_RE = re.compile(
    r"\b(is|are|was|were|can|may|will|could|should|might|must|does|do|did|has|have|had)\b "
)
_POST_POSITIVE = frozenset({"absent", "lacking"})


@dataclass(frozen=True)
class SupportResult:
    """Outcome of one check; ``reasons`` lists penalties and failures (empty when clean)."""

    supported: bool
    score: float
    best_source_sentence: str
    reasons: tuple[str, ...]


def _is_key_token(token: str) -> bool:
    """True for a lower-case, unstemmed token that looks like a medical term or a number."""
    if token[0].isdigit() or token in _KEY_LEXICON:
        return True
    return len(token) >= 5 and (token.endswith(_MED_SUFFIXES) or token.startswith(_MED_PREFIXES))


def key_terms(text: str) -> set[str]:
    """Stems of the key terms of ``text``: numbers, acronyms, capitalised words that do not open
    a sentence or line, and medical-looking words (suffix, prefix or ``_KEY_LEXICON``)."""
    out: set[str] = set()
    for a, b in split_sentences(text):
        words = re.findall(r"[^\W\d_][^\W_]*", text[a:b])
        for i, w in enumerate(words):
            if (len(w) >= 2 and w.isupper()) or (i > 0 and w[0].isupper()):
                out.update(content_words(w))
    for tok in tokens(text):
        if tok not in STOP_WORDS and (len(tok) > 1 or tok.isdigit()) and _is_key_token(tok):
            out.add(stem(tok) if tok.isalpha() else tok)
    return out


def _negations(text: str) -> tuple[int, list[tuple[str, ...]]]:
    """Number of negation words in ``text`` and, for each, its scope (stemmed words)."""
    toks = tokens(text)
    content = [
        (i, stem(t))
        for i, t in enumerate(toks)
        if t not in STOP_WORDS and t not in NEGATION_WORDS and len(t) > 1
    ]
    scopes: list[tuple[str, ...]] = []
    for i, t in enumerate(toks):
        if t not in NEGATION_WORDS:
            continue
        if t in _POST_POSITIVE:
            scope = [w for j, w in content if j < i][-2:]
        else:
            scope = [w for j, w in content if j > i][:2]
        scopes.append(tuple(scope))
    return len(scopes), scopes


_ATTRIBUTION = re.compile(
    r"^(?:according to|as (?:stated|described|reported) in|in)\s+"
    r"(?:the |both |these |all )?(?:[\w.\-]+ )?(?:sources?|articles?|documents?|texts?|papers?)"
    r",\s*|"
    r"^(?:the |both |these |all )?(?:[\w.\-]+ )?(?:sources?|articles?|documents?|texts?|"
    r"papers?)\s+(?:states?|says?|notes?|reports?|describes?|mentions?|explains?)"
    r"(?:\s+that)?\s+", re.IGNORECASE)
_META_WORDS = frozenset(content_words("source sources article articles document documents"))


def without_attribution(claim: str) -> str:
    """``claim`` without an opening that attributes it to the sources ("According to both
    articles,", "The Dr.Oracle article states that"): the checker judges what the claim
    says, not which document it names, which it cannot see. A leading "Yes," stays: it
    affirms the question, which the checker does not see either, so it counts against."""
    return _ATTRIBUTION.sub("", claim, count=1)


_ACRONYM = re.compile(r"\b([A-Z][A-Z0-9]{1,9})s?\b")
_WORD = re.compile(r"[A-Za-z0-9]+")


_NAME_GAP = re.compile(r"[ -]")


def _spelled_out(acronym: str, text: str) -> list[str]:
    """Runs of words in ``text`` whose initials spell ``acronym`` ("Lambert-Eaton myasthenic
    syndrome" for LEMS; hyphenated parts count as words). A name is made of content words
    joined by a space or a hyphen: "from frog skeletal" is not FFS, nor "muscle (Rana" MR."""
    words = list(_WORD.finditer(text))
    n, want = len(acronym), acronym.lower()
    runs = (words[i:i + n] for i in range(len(words) - n + 1))
    return [text[run[0].start():run[-1].end()] for run in runs
            if "".join(w.group()[0] for w in run).lower() == want and _is_name(run, text)]


def _is_name(run: list[re.Match[str]], text: str) -> bool:
    return (not any(w.group().lower() in STOP_WORDS for w in run)
            and all(_NAME_GAP.fullmatch(text[a.end():b.start()]) for a, b in pairwise(run)))


def with_acronyms(passage: str, claim: str) -> str:
    """``passage`` with each acronym that one side uses and the other spells out written both
    ways, in the passage: "LEMS" followed by "(Lambert-Eaton myasthenic syndrome)" when the
    claim names it in full, a spelled-out name followed by "(LEMS)" when the claim uses the
    acronym. The name must spell the acronym by its initials. A sentence that holds both
    forms already is left as it is: written twice, the "non" of "non-small cell lung cancer"
    would count as a second negation."""
    notes: list[tuple[str, str]] = []  # (pattern of one form, the other form to add)
    for short in {m.group(1) for m in _ACRONYM.finditer(passage)}:
        names = [n for n in _spelled_out(short, claim) if short not in n]
        if names:
            notes.append((rf"\b{short}s?\b", names[0]))
    for short in {m.group(1) for m in _ACRONYM.finditer(claim)}:
        notes += [(re.escape(name), short) for name in set(_spelled_out(short, passage))
                  if name != short]
    if not notes:
        return passage
    out, done = [], 0
    for a, b in split_sentences(passage):
        sentence = passage[a:b]
        held = _plain(sentence)
        for pattern, other in notes:
            if f" {_plain(other)} " not in f" {held} ":
                sentence = _annotate(sentence, pattern, other)
        out += [passage[done:a], sentence]
        done = b
    return "".join(out) + passage[done:]


def _plain(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _annotate(text: str, pattern: str, note: str) -> str:
    """``text`` with " (note)" after each match of ``pattern``."""
    return re.sub(pattern, lambda m: f"{m.group(0)} ({note})", text)


@dataclass(frozen=True)
class _Source:
    text: str
    words: frozenset[str]


class SupportChecker:
    """Deterministic sentence-vs-passage support check (method in the module docstring).

    ``embed`` maps texts to L2-normalised row vectors (optional; lexical signals only when
    None). ``threshold`` applies to the final score in [0, 1]; ``embed_weight`` is the share of
    the cosine in a source's score; ``term_penalty`` is subtracted per key term of the claim
    missing from the best source.
    """

    def __init__(
        self,
        embed: EmbedFn | None = None,
        threshold: float = 0.75,
        embed_weight: float = 0.4,
        term_penalty: float = 0.25,
    ) -> None:
        self.embed = embed
        self.threshold = threshold
        self.embed_weight = embed_weight
        self.term_penalty = term_penalty

    # ---------------------------------------------------------------- helpers

    def _sources(self, passage: str, claim_words: set[str]) -> list[_Source]:
        sents = [passage[a:b] for a, b in split_sentences(passage)]
        words = [frozenset(content_words(s)) for s in sents]
        out = [_Source(s, w) for s, w in zip(sents, words, strict=True)]
        for i in range(len(sents) - 1):
            a, b = words[i] & claim_words, words[i + 1] & claim_words
            if len(a - b) >= 2 and len(b - a) >= 2:
                out.append(_Source(sents[i] + " " + sents[i + 1], words[i] | words[i + 1]))
        return out

    # ---------------------------------------------------------------- API

    def check(self, sentence: str, passage: str) -> SupportResult:
        """Decide whether ``passage`` supports ``sentence``."""
        claim = without_attribution(strip_citation_markers(sentence, trailing_numbers=False))
        passage = with_acronyms(passage, claim)
        claim_words = set(content_words(claim)) - _META_WORDS
        if not claim_words:
            return SupportResult(False, 0.0, "", ("claim has no content words",))
        sources = self._sources(passage, claim_words)
        if not sources:
            return SupportResult(False, 0.0, "", ("passage has no sentences",))

        keys = key_terms(claim)
        weight = {w: 2.0 if w in keys else 1.0 for w in claim_words}
        total = sum(weight.values())
        lexical = [sum(weight[w] for w in claim_words & s.words) / total for s in sources]
        scores = lexical
        if self.embed is not None:
            vecs = np.asarray(self.embed([claim] + [s.text for s in sources]), dtype=float)
            cos = np.clip(vecs[1:] @ vecs[0], 0.0, 1.0)
            ew = self.embed_weight
            scores = [(1 - ew) * lex + ew * float(c) for lex, c in zip(lexical, cos, strict=True)]
        best_i = max(range(len(sources)), key=lambda i: (scores[i], -len(sources[i].text)))
        best = sources[best_i]
        score = scores[best_i]
        reasons: list[str] = []

        passage_words = set(content_words(passage))
        for w in sorted(claim_words):
            if weight[w] < 2:
                continue
            if w not in passage_words:
                score -= self.term_penalty
                reasons.append(f"term not in passage: {w}")
            elif w not in best.words:
                score -= self.term_penalty
                reasons.append(f"term not in best source sentence: {w}")

        hard_fail = False
        missing_numbers = ungrounded_numbers(claim, [passage])
        if missing_numbers:
            hard_fail = True
            reasons.append("number not in passage: " + ", ".join(sorted(missing_numbers)))

        n_claim, _ = _negations(claim)
        n_source, scopes = _negations(best.text)
        repeated = sum(1 for sc in scopes if sc and set(sc) <= claim_words)
        if n_claim > n_source or n_claim < repeated:
            hard_fail = True
            reasons.append(f"negation mismatch (claim {n_claim}, source {n_source})")

        score = max(0.0, min(1.0, score))
        if score < self.threshold:
            reasons.append(f"score {score:.2f} below threshold {self.threshold:.2f}")
        supported = not hard_fail and score >= self.threshold
        return SupportResult(supported, score, best.text, tuple(reasons))

    def supports(self, sentence: str, passages: Sequence[str]) -> bool:
        """True if the passages, joined, support ``sentence``; False for no passages."""
        if not passages:
            return False
        return self.check(sentence, "\n\n".join(passages)).supported


# ----------------------------------------------------------------------------- labelled pairs


@dataclass(frozen=True)
class LabelledPair:
    claim: str
    passage: str
    supported: bool
    kind: str
    """One of "verbatim", "number", "negation", "entity", "unrelated" (built from the sources),
    or "generated" (a model's answer sentence, labelled by hand: `load_labelled_pairs`)."""


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
    m = _AUX_RE.search(claim)
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


def build_labelled_pairs(source_texts: list[str], seed: int) -> list[LabelledPair]:
    """Supported and perturbed (unsupported) claim/passage pairs from source sentences."""
    rng = random.Random(seed)
    vocab: set[str] = set()
    for text in source_texts:
        for w in _WORD_RE.findall(text):
            vocab.add(w if w.isupper() else w.lower())

    # (text index, sentence index, claim, spans) for every usable sentence
    items: list[tuple[int, int, str, list[tuple[int, int]]]] = []
    seen: set[str] = set()
    for t, text in enumerate(source_texts):
        spans = split_sentences(text)
        for i, (a, b) in enumerate(spans):
            claim = strip_citation_markers(text[a:b])
            key = normalise(claim)
            if len(claim.split()) < 8 or len(content_words(claim)) < 5 or key in seen:
                continue
            seen.add(key)
            items.append((t, i, claim, spans))

    pairs: list[LabelledPair] = []
    for t, i, claim, spans in items:
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

        others = [
            c
            for (t2, i2, c, _) in items
            if (t2 != t if len(source_texts) > 1 else abs(i2 - i) > 3)
            and normalise(c) not in normalise(passage)
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


def balanced_accuracy(checker: Checker, pairs: Sequence[LabelledPair]) -> float:
    """Mean of recall on supported pairs and recall on unsupported pairs."""
    pos = [p for p in pairs if p.supported]
    neg = [p for p in pairs if not p.supported]
    if not pos or not neg:
        raise ValueError("balanced accuracy needs both supported and unsupported pairs")
    tp = sum(checker.check(p.claim, p.passage).supported for p in pos)
    tn = sum(not checker.check(p.claim, p.passage).supported for p in neg)
    return (tp / len(pos) + tn / len(neg)) / 2
