"""Does a source sentence answer the question? A judge that scores each candidate.

Retrieval and the term rerank rank sentences by topic: in a large corpus there is always a
sentence on the topic of the question ("How is type 2 diabetes treated?" finds a study's
"Methods:" sentence about HbA1c), and a definition is ranked above the one sentence that
says how a disease progresses. The judge scores each candidate with the probability that
it carries part of the answer, from features of the (question, sentence) pair:

- how the retrieval and the rerank scored it, against the best candidate (`score`,
  `gap`, `rank`, `chunk_rank`, both retrievers agreeing);
- the question's terms it holds, weighted by rarity and all alike, and how much of the
  question no candidate holds at all (a question the corpus does not cover);
- what kind of sentence it is: a bare list item, a heading-like fragment with no verb, a
  structured-abstract label ("Methods:"), a sentence that refers back ("These ...");
- whether it has what the question's shape asks for (`app.answer.shape`): a figure for a
  figure question, a cause or mechanism for "why/how", a definition for "what is", items
  for a list, an assertion or denial for yes/no.

A logistic model over those features, fitted by `python -m eval.responsive` on labelled
(question, sentence) pairs: every candidate of every gold question over the default sources
and over the 3,000-abstract distractor corpus, labelled by the answer-precision rule of the
eval (`eval.metrics.sentence_precise`: the sentence carries a key point of the gold answer
or lies within a gold quote). Its weights and its measured accuracy on questions it was not
fitted on are in `responsive.json`, beside this file. Features are standardised in the
file, so a weight reads as the pull of one standard deviation.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from app.answer.quantities import states_quantity
from app.answer.shape import Shape, question_shape
from index.terms import QuestionTerms
from ingest.text import content_words, refers_back

WEIGHTS = Path(__file__).with_name("responsive.json")

FEATURES = ("score", "gap", "rank", "chunk_rank", "both_retrievers", "share",
            "uniform_share", "share_of_best", "focus_share", "uncovered", "words", "bullet",
            "fragment", "label",
            "refers_back", "shape_cue", "shape_figure", "shape_why_how", "shape_definition",
            "shape_list", "shape_yes_no")

_LABEL = re.compile(r"^(?:background|methods?|results?|conclusions?|objectives?|aims?|"
                    r"purpose|design|setting|participants|interventions?|findings|"
                    r"introduction|discussion|significance)\s*:", re.IGNORECASE)
_VERB = re.compile(r"\b(?:is|are|was|were|be|been|being|has|have|had|can|could|may|might|"
                   r"must|should|will|would|do|does|did|\w{3,}(?:ed|es|s))\b", re.IGNORECASE)
_CUES: dict[str, re.Pattern[str]] = {
    "why-how": re.compile(r"\b(?:caus\w*|because|due to|result\w*|lead\w* to|leads?|"
                          r"trigger\w*|mechanism\w*|through|by (?:\w+ing)|via|attack\w*|"
                          r"against|diagnos\w*|treat\w*|therap\w*|produc\w*|impair\w*|"
                          r"block\w*|reduc\w*|induc\w*|mediat\w*|when|if|so that)\b",
                          re.IGNORECASE),
    "definition": re.compile(r"\b(?:is|are) (?:an?|the|defined|termed|called|known|"
                             r"characteri[sz]ed|described)\b|\b(?:refers? to|termed|called|"
                             r"known as|defined as|means|i\.e\.)\b", re.IGNORECASE),
    "list": re.compile(r"\binclud\w*|, (?:and |or )?\w+|\b(?:such as|e\.g\.)", re.IGNORECASE),
    "yes-no": re.compile(r"\b(?:not|no|never|none|always|only|can|may|does|do|is|are|"
                         r"without|unless|even|both|all|some|most|rarely|usually)\b",
                         re.IGNORECASE),
}


@dataclass(frozen=True)
class Pair:
    """What the judge sees of one candidate: its text and how it was ranked."""

    text: str
    score: float  # retrieval score (cosine less the restatement penalty)
    chunk_rank: int  # of its chunk among the hits, 0 = first
    both_retrievers: bool  # the chunk was found by the dense and the lexical retriever


def features(question: str, pairs: Sequence[Pair], shape: Shape | None = None
             ) -> list[list[float]]:
    """One feature row (in `FEATURES` order) per pair; `pairs` best first by score."""
    if not pairs:
        return []
    shape = shape or question_shape(question)
    texts = [p.text for p in pairs]
    qterms = QuestionTerms.of(question, texts)
    everything = QuestionTerms.of(question, texts, missing=True).uniform()
    asked = len(everything.weights)
    uncovered = (asked - len(qterms.weights)) / asked if asked else 1.0
    uniform = qterms.uniform()
    best = max(p.score for p in pairs)
    shares = [qterms.share(t) for t in texts]
    best_share = max(shares) or 1.0
    # the question's focus: its terms that few candidates hold (not the shared topic)
    n = len(texts)
    focus = qterms.without({t for t in qterms.weights
                            if sum(t in qterms.terms(x) for x in texts) > n / 3}).uniform()
    order = sorted(range(len(pairs)), key=lambda i: -pairs[i].score)
    rank = {i: r for r, i in enumerate(order)}
    rows = []
    for i, p in enumerate(pairs):
        text = p.text[2:] if p.text.startswith("• ") else p.text
        cue = _CUES.get(shape)
        rows.append([
            p.score, best - p.score, 1.0 / (1 + rank[i]), 1.0 / (1 + p.chunk_rank),
            float(p.both_retrievers), shares[i], uniform.share(p.text), shares[i] / best_share,
            focus.share(p.text), uncovered,
            math.log1p(len(content_words(text))), float(p.text.startswith("• ")),
            float(not _VERB.search(text) or not text.rstrip().endswith((".", "!", "?", ")"))),
            float(bool(_LABEL.match(text))), float(refers_back(text)),
            float(states_quantity(text)) if shape == "figure"
            else float(bool(cue and cue.search(text))),
            float(shape == "figure"), float(shape == "why-how"), float(shape == "definition"),
            float(shape == "list"), float(shape == "yes-no"),
        ])
    return rows


@dataclass(frozen=True)
class Judge:
    """The fitted logistic model (see the module docstring)."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    keep: float  # a candidate below this probability is not evidence
    answers: float  # no candidate at this probability or above: the question is not answered

    def probabilities(self, question: str, pairs: Sequence[Pair],
                      shape: Shape | None = None) -> list[float]:
        out = []
        for row in features(question, pairs, shape):
            z = self.bias + sum(w * (x - m) / s for w, x, m, s in
                                zip(self.weights, row, self.mean, self.scale,
                                    strict=True))
            out.append(1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z)))))
        return out

    def to_json(self, **extra: object) -> str:
        return json.dumps({"features": list(FEATURES), "mean": self.mean, "scale": self.scale,
                           "weights": self.weights, "bias": self.bias, "keep": self.keep,
                           "answers": self.answers, **extra}, indent=1)


def judge_from(data: dict) -> Judge:
    if list(data["features"]) != list(FEATURES):
        raise ValueError("responsive.json was fitted on other features: refit it with "
                         "`python -m eval.responsive`")
    return Judge(tuple(data["mean"]), tuple(data["scale"]), tuple(data["weights"]),
                 float(data["bias"]), float(data["keep"]), float(data["answers"]))


@lru_cache(maxsize=1)
def default_judge() -> Judge | None:
    """The packaged judge, or None when the file is absent (then nothing is judged)."""
    if not WEIGHTS.is_file():
        return None
    return judge_from(json.loads(WEIGHTS.read_text(encoding="utf-8")))
