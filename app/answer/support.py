"""A deterministic checker deciding whether a sentence (a claim) is supported by a passage.

Used to verify generated answers (`app.answer.verify`) and by the evaluation's faithfulness
metrics. Only the standard library and numpy; an embedding function may be injected.

Method of ``SupportChecker.check(claim, passage)``
---------------------------------------------------
1. Citation markers ``[n]`` and glued footnote digits are removed from the claim
   (``strip_citation_markers(claim, trailing_numbers=False)``), and so is an opening that
   attributes it to the sources ("According to both articles,", "The X article states
   that": ``without_attribution``); the words source, article and document do not count.
   An acronym that one side uses and the other spells out (LEMS, "Lambert-Eaton myasthenic
   syndrome": initials of content words joined by spaces or hyphens that spell it) is
   written both ways in the passage (``with_acronyms``). Claim words are
   ``ingest.text.content_words`` (stemmed, stop words dropped), counted once each. A word is a
   *key term* (weight 2, other words weight 1) when it is a number, a capitalised word not
   opening the sentence or an all-caps acronym, or a medical-looking word: a medical suffix
   (-itis, -oma, -pathy, -ium, ...), prefix (neuro-, cardi-, immun-, ...) or a word of a small
   built-in lexicon of organs, minerals and the like (``_KEY_LEXICON``), or a word of the
   claim's subject (``clause_subject``, below), so that a claim moved to another subject
   fails ("Symptoms do not have significant incidences of X." against "Patients with
   cancer do not have significant incidences of X.").
2. The passage is split into sentences (``ingest.text.split_sentences``). Candidate *sources* are
   each sentence, and each pair of adjacent sentences when both sentences contribute at least
   two claim words the other lacks (a genuine merge, so one stray word borrowed from a
   neighbour does not make a source), or when the second refers back to the first ("The
   condition was improved by X." after "This neuromyopathy was ...": what it says is said of
   the first's subject) and each contributes a claim word, and each list: a lead-in ending
   with ":" with the bullet items that follow it ("Associated conditions include: • A • B"
   supports "A and B are associated conditions"). A pair must also be about the claim's
   subject (``clause_subject``: its content words before its first auxiliary verb, in that
   verb's clause) on both sides: each sentence holds one of those words, or the second
   refers back to a first whose own subject holds one. "The small cell bronchial carcinoma
   was improved by steroidal therapy." joins one sentence's subject to its neighbour's
   predicate, about another subject ("... sicca syndrome ... diagnosed with small cell
   bronchial carcinoma. This neuromyopathy was non-responsive with steroidal therapy."):
   not a source. The lexical score of a source is the weighted share of claim words it
   contains. With ``embed`` the score of a source is
   ``(1 - embed_weight) * lexical + embed_weight * max(0, cosine(claim, source))``.
   The best-scoring source is the *best source sentence*.
3. Penalty: ``-term_penalty`` for each key term of the claim absent from the best source,
   whether it is absent from the whole passage (an invented or swapped entity) or found
   elsewhere in it (a term borrowed from a neighbouring sentence).
4. Hard checks, each making the claim unsupported whatever the score:
   * number agreement: every ``ingest.text.numbers`` item of the claim occurs in the passage
     (same rule as ``eval.metrics.ungrounded_numbers``);
   * negation agreement with the best source: the claim may not carry more negation words
     (``ingest.text.NEGATION_WORDS``) than the source, nor fewer than the number of source
     negations whose scope it repeats (scope: the next two content words after the negation
     word, the previous two for post-positive "absent"/"lacking").
5. ``supported = no hard failure and score >= threshold``.

How it is measured (labelled pairs, balanced accuracy) is `eval.pairs`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from ingest.text import (
    NEGATION_WORDS,
    STOP_WORDS,
    content_words,
    refers_back,
    split_sentences,
    stem,
    strip_citation_markers,
    tokens,
    ungrounded_numbers,
)

EmbedFn = Callable[[list[str]], np.ndarray]


_BULLETS = ("•", "-", "*", "–", "▪", "●", "◦")


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
AUX_RE = re.compile(
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


_CLAUSE_BREAK = re.compile(r"[,;:]|\b(?:that|which|who|whom|whose)\b")


def clause_subject(text: str) -> frozenset[str]:
    """Content words of ``text`` before its first auxiliary verb and after the last comma,
    semicolon, colon or relative pronoun before it ("In one case, the sicca syndrome was
    improved ..." -> sicca, syndrome; "The inflammation that X can cause is ..." -> X): a
    shallow subject; empty when it has no auxiliary."""
    m = AUX_RE.search(text)
    if m is None:
        return frozenset()
    return frozenset(content_words(_CLAUSE_BREAK.split(text[:m.start()])[-1]))


def _about(subject: frozenset[str], first: str, second: str,
           first_words: frozenset[str], second_words: frozenset[str]) -> bool:
    """Whether two adjacent sentences are both about ``subject`` (the claim's, within its
    words): each holds one of its words, or the second refers back to a first whose own
    subject holds one (the whole first, when it has no auxiliary to find a subject by: "...,
    paraneoplastic neurological syndrome, leads to varied symptoms. This leads to ...").
    No subject (no auxiliary, or a pronoun): no constraint."""
    if not subject:
        return True
    referent = clause_subject(first) or first_words
    return bool(subject & first_words) and bool(
        subject & second_words or refers_back(second) and subject & referent)


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

    def _sources(self, passage: str, claim_words: set[str],
                 subject: frozenset[str] = frozenset()) -> list[_Source]:
        spans = split_sentences(passage)
        sents = [passage[a:b] for a, b in spans]
        items = [passage[passage.rfind("\n", 0, a) + 1:a].strip().startswith(_BULLETS)
                 for a, _ in spans]  # the sentence is a list item: a bullet opens its line
        words = [frozenset(content_words(s)) for s in sents]
        out = [_Source(s, w) for s, w in zip(sents, words, strict=True)]
        for i in range(len(sents) - 1):
            a, b = words[i] & claim_words, words[i + 1] & claim_words
            if (len(a - b) >= 2 and len(b - a) >= 2
                    or refers_back(sents[i + 1]) and a - b and b - a) and _about(
                        subject, sents[i], sents[i + 1], words[i], words[i + 1]):
                out.append(_Source(sents[i] + " " + sents[i + 1], words[i] | words[i + 1]))
            if sents[i].rstrip().endswith(":"):  # a lead-in and its list are one statement
                j = i + 1
                while j < len(sents) and items[j]:
                    j += 1
                if j - i > 2:
                    out.append(_Source(" ".join(sents[i:j]), frozenset().union(*words[i:j])))
        return out

    # ---------------------------------------------------------------- API

    def check(self, sentence: str, passage: str) -> SupportResult:
        """Decide whether ``passage`` supports ``sentence``."""
        claim = without_attribution(strip_citation_markers(sentence, trailing_numbers=False))
        passage = with_acronyms(passage, claim)
        claim_words = set(content_words(claim)) - _META_WORDS
        if not claim_words:
            return SupportResult(False, 0.0, "", ("claim has no content words",))
        subject = clause_subject(claim) & claim_words
        sources = self._sources(passage, claim_words, subject)
        if not sources:
            return SupportResult(False, 0.0, "", ("passage has no sentences",))

        keys = key_terms(claim) | subject
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
