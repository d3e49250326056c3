"""The responsiveness judge (`app.answer.responsive`) and its fitting (`eval.responsive`)."""

from __future__ import annotations

import json

import numpy as np

from app.answer.responsive import FEATURES, WEIGHTS, Pair, default_judge, features, judge_from
from eval.responsive import auc, fit

DIAGNOSIS = "How is Lambert-Eaton myasthenic syndrome diagnosed?"
PAIRS = [
    Pair("The diagnosis of LEMS is generally confirmed by detecting anti-VGCC antibodies "
         "and by electrophysiological studies.", 0.55, 0, True),
    Pair("Lambert-Eaton myasthenic syndrome is a rare disorder of the neuromuscular "
         "junction.", 0.60, 0, True),
    Pair("Methods: We reviewed 40 patients with Lambert-Eaton myasthenic syndrome.", 0.50,
         1, False),
    Pair("• Lambert-Eaton myasthenic syndrome 2", 0.45, 2, False),
]


def test_one_feature_row_per_pair_in_the_order_of_the_names() -> None:
    rows = features(DIAGNOSIS, PAIRS)
    assert len(rows) == len(PAIRS) and all(len(r) == len(FEATURES) for r in rows)
    named = [dict(zip(FEATURES, r, strict=True)) for r in rows]
    assert named[2]["label"] == 1.0 and named[0]["label"] == 0.0  # "Methods:"
    assert named[3]["bullet"] == 1.0 and named[3]["fragment"] == 1.0
    assert named[0]["shape_why_how"] == 1.0
    assert named[1]["gap"] == 0.0 and named[0]["gap"] > 0
    assert features(DIAGNOSIS, []) == []


def test_the_fit_separates_what_a_feature_separates() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    y = (x[:, 1] + 0.3 * rng.normal(size=400) > 0.8).astype(float)
    mean, scale, weights, bias = fit(x, y)
    z = bias + ((x - mean) / scale) @ weights
    assert auc(z, y) > 0.95
    assert abs(weights[1]) > 3 * max(abs(weights[0]), abs(weights[2]))


def test_auc_of_known_rankings() -> None:
    assert auc(np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1])) == 1.0
    assert auc(np.array([0.9, 0.8, 0.2, 0.1]), np.array([0, 0, 1, 1])) == 0.0
    assert auc(np.array([0.5, 0.5]), np.array([0, 1])) == 0.5


def test_the_packaged_judge_loads_and_says_how_it_was_measured() -> None:
    judge = default_judge()
    assert judge is not None and len(judge.weights) == len(FEATURES)
    data = json.loads(WEIGHTS.read_text())
    assert 0 < judge.keep < 1 and data["cross_validated"]  # figures on held-out questions
    probs = judge.probabilities(DIAGNOSIS, PAIRS)
    assert all(0 <= p <= 1 for p in probs)
    # the sentence that says how the diagnosis is made beats a study's "Methods:" line on
    # the same topic. (It does not beat the bare list item or the definition: the judge
    # rates list items high, since items often carry a key point in the gold set, and that
    # is one reason it is off by default; see README, "Judging answers".)
    assert probs[0] > probs[2]


def test_a_judge_fitted_on_other_features_is_refused_with_what_to_do() -> None:
    data = json.loads(WEIGHTS.read_text())
    data["features"] = data["features"][:-1]
    try:
        judge_from(data)
    except ValueError as exc:
        assert "python -m eval.responsive" in str(exc)
    else:
        raise AssertionError("a judge with other features was accepted")
