"""eval.pairs: the labelled pairs are built from a bounded, seeded sample of the corpus."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

import eval.pairs as pairs_module
from eval.pairs import (
    MAX_SENTENCES,
    MAX_TEXTS,
    balanced_accuracy,
    build_labelled_pairs,
    sample_sentences,
)
from tests.test_support import CHECKER, INLINE_SOURCES

DEFAULT_SOURCES = Path(__file__).resolve().parents[1] / "data" / "sources"

_TERMS = ("neuropathy", "myopathy", "carcinoma", "lymphoma", "thymoma", "dermatitis")
_ORGANS = ("lung", "breast", "ovary", "prostate", "colon", "liver", "kidney", "thyroid")
_DRUGS = ("cisplatin", "rituximab", "prednisone", "amifampridine", "cyclophosphamide")


def synthetic_texts(n: int, sentences: int = 10, seed: int = 0) -> list[str]:
    """`n` texts of `sentences` distinct, usable sentences (8+ words, 5+ content words,
    numbers, negations and swappable terms, so that every kind of pair is made)."""
    rng = random.Random(seed)
    texts = []
    for t in range(n):
        lines = []
        for i in range(sentences):
            lines.append(
                f"In study {t} cohort {i}, {rng.randint(3, 90)} patients with "
                f"{rng.choice(_ORGANS)} {rng.choice(_TERMS)} were "
                f"{rng.choice(('not ', ''))}treated with {rng.choice(_DRUGS)} for "
                f"{rng.randint(2, 30)} weeks.")
        texts.append(" ".join(lines))
    return texts


def _budget(monkeypatch: pytest.MonkeyPatch, name: str, limit: int) -> Counter:
    """Count the calls of eval.pairs.<name>; fail as soon as there are more than `limit`."""
    calls: Counter = Counter()
    real = getattr(pairs_module, name)

    def counted(*args, **kwargs):
        calls[name] += 1
        if calls[name] > limit:
            raise AssertionError(f"{name} called more than {limit} times: the work is unbounded")
        return real(*args, **kwargs)

    monkeypatch.setattr(pairs_module, name, counted)
    return calls


def test_pairs_over_2000_texts_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = synthetic_texts(2000)  # 20,000 usable sentences
    # Work done: only the sampled texts are split, and each sampled text's sentences, each
    # kept sentence and each passage are normalised once. The unbounded build split all
    # 2,000 texts and normalised every sentence of the corpus for each sentence.
    splits = _budget(monkeypatch, "split_sentences", MAX_TEXTS)
    norms = _budget(monkeypatch, "normalise", 10 * MAX_TEXTS + 2 * MAX_SENTENCES)
    pairs = build_labelled_pairs(texts, seed=0)
    assert splits["split_sentences"] == MAX_TEXTS
    assert norms["normalise"] <= 10 * MAX_TEXTS + 2 * MAX_SENTENCES
    kinds = Counter(p.kind for p in pairs)
    assert kinds["verbatim"] == MAX_SENTENCES  # one per sampled sentence
    assert len(pairs) <= 6 * MAX_SENTENCES
    assert {"number", "negation", "entity", "unrelated"} <= set(kinds)
    studies = {p.claim.split(" cohort")[0] for p in pairs if p.kind == "verbatim"}
    assert len(studies) == MAX_TEXTS  # the sentences come from the sampled texts only


def test_sample_is_seeded_and_spread_over_the_corpus() -> None:
    texts = synthetic_texts(300)
    chosen, items = sample_sentences(texts, seed=1)
    again = sample_sentences(texts, seed=1)
    assert (chosen, items) == again
    assert len(chosen) == MAX_TEXTS and chosen == sorted(chosen)
    assert len(items) == MAX_SENTENCES
    assert [(t, i) for t, i, _, _ in items] == sorted((t, i) for t, i, _, _ in items)
    assert chosen[-1] > 2 * MAX_TEXTS  # a sample of the corpus, not its first texts
    other, _ = sample_sentences(texts, seed=2)
    assert other != chosen
    assert build_labelled_pairs(texts, seed=1) == build_labelled_pairs(texts, seed=1)


@pytest.mark.parametrize("corpus", ["inline", "default"])
def test_a_corpus_within_the_bounds_gives_the_unbounded_pairs(corpus: str) -> None:
    texts = INLINE_SOURCES if corpus == "inline" else [
        p.read_text(errors="replace") for p in sorted(DEFAULT_SOURCES.rglob("*.txt"))]
    for seed in (0, 3):
        bounded = build_labelled_pairs(texts, seed=seed)
        assert bounded == build_labelled_pairs(texts, seed=seed, max_texts=None,
                                               max_sentences=None)
    _, items = sample_sentences(texts, seed=0, max_texts=None, max_sentences=None)
    assert len(items) <= MAX_SENTENCES and len(texts) <= MAX_TEXTS


def test_bounds_can_be_set() -> None:
    texts = synthetic_texts(20)
    pairs = build_labelled_pairs(texts, seed=0, max_texts=3, max_sentences=7)
    assert Counter(p.kind for p in pairs)["verbatim"] == 7


def test_progress_bars_go_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    pairs = build_labelled_pairs(INLINE_SOURCES, seed=0, progress=True)
    balanced_accuracy(CHECKER, pairs, progress=True)
    err = capsys.readouterr().err
    assert "checker pairs" in err and "support checker" in err
    assert f"{len(pairs)}/{len(pairs)}" in err  # the closing state is printed
    build_labelled_pairs(INLINE_SOURCES, seed=0)
    balanced_accuracy(CHECKER, pairs)
    assert capsys.readouterr().err == ""  # no bar without progress
