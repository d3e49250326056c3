"""Question shapes (`app.answer.shape`): what kind of answer a question asks for."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.answer.shape import SHAPES, question_shape
from eval.gold import load_gold

GOLD = Path(__file__).resolve().parents[1] / "eval" / "gold" / "questions.jsonl"

# the gold kinds that name a shape, and the shape the rules must give each of them
KIND_SHAPE = {"yes-no": "yes-no", "list": "list", "why-how": "why-how",
              "refers-to": "definition"}


@pytest.mark.parametrize(("question", "shape"), [
    ("Is LEMS rare?", "yes-no"),
    ("According to the sources, does treating the tumour help?", "yes-no"),
    ("If doctors deal with the growth itself, does the nerve damage get milder?", "yes-no"),
    ("List the syndromes linked to paraneoplastic muscle weakness.", "list"),
    ("Which neurological disorders are listed as associated with it?", "list"),
    ("What is the recommended dose of cyclophosphamide?", "figure"),
    ("How common is LEMS in small-cell lung cancer?", "figure"),
    ("Why do tumours cause weakness?", "why-how"),
    ("How is Lambert-Eaton myasthenic syndrome diagnosed?", "why-how"),
    ("Since LEMS affects 20% of patients, how is it diagnosed?", "why-how"),
    ("What causes paraneoplastic muscle weakness?", "why-how"),
    ("What is paraneoplastic neuromyopathy?", "definition"),
    ("What does 'impaired intrinsic capacity' refer to?", "definition"),
    ("How does the article define paraneoplastic neuropathy?", "definition"),
    ("What is the difference between LEMS and myasthenia gravis?", "comparison"),
    ("Which malignancy is most commonly associated with these syndromes?", "other"),
])
def test_shapes_of_questions(question: str, shape: str) -> None:
    assert question_shape(question) == shape


def test_gold_questions_of_a_shaped_kind_get_that_shape() -> None:
    """Every gold question written as a yes/no, list, why/how or "what does X refer to"
    question is recognised as one, save at most one of each kind."""
    by_kind: dict[str, list[str]] = {}
    for q in load_gold(GOLD):
        if q.kind in KIND_SHAPE:
            by_kind.setdefault(q.kind, []).append(question_shape(q.question))
    assert set(by_kind) == set(KIND_SHAPE)
    for kind, shapes in by_kind.items():
        wrong = [s for s in shapes if s != KIND_SHAPE[kind]]
        assert len(wrong) <= 1, (kind, shapes)
        assert set(shapes) <= set(SHAPES)
