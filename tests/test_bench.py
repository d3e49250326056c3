"""The benchmarks' own logic (no timing here: benchmarks print figures, tests check code)."""

from __future__ import annotations

import numpy as np

from bench.common import percentile, synthetic_docs, table
from bench.query import FakeBuildEmbedder
from eval.distractors import Abstract
from tests.fakes import HashingEmbedder

ABSTRACTS = [
    Abstract(str(i), f"Title {i}",
             f"Patients with thymoma number {i} were studied over two years. Muscle weakness "
             f"improved after plasma exchange in cohort {i}. Antibodies were measured in "
             f"serum samples of every patient.")
    for i in range(20)
]


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile([3.0], 95) == 3.0
    assert percentile([1.0, 2.0], 50) == 1.0


def test_table_is_markdown() -> None:
    text = table(["a", "b"], [[1, 2.5], ["x", 1234.0]])
    assert text.splitlines() == ["| a | b |", "|---|---|", "| 1 | 2.50 |", "| x | 1,234 |"]


def test_synthetic_documents_are_deterministic_per_seed() -> None:
    a = list(synthetic_docs(5, seed=1, abstracts=ABSTRACTS))
    b = list(synthetic_docs(5, seed=1, abstracts=ABSTRACTS))
    c = list(synthetic_docs(5, seed=2, abstracts=ABSTRACTS))
    assert a == b and a != c
    assert len({name for name, _ in a}) == 5
    for _, text in a:
        title, body = text.split("\n\n", 1)
        assert title.startswith("Title ") and body.strip()


def test_fake_build_embedder_keeps_the_real_name_and_makes_unit_vectors() -> None:
    real = HashingEmbedder(name="all-MiniLM-L6-v2", dim=384)
    fake = FakeBuildEmbedder(real)
    assert (fake.name, fake.dim, fake.max_tokens) == ("all-MiniLM-L6-v2", 384, 256)
    assert fake.count_tokens("two words") == real.count_tokens("two words")
    vecs = fake.embed_documents(["thymoma muscle weakness", "thymoma weakness", "the of"])
    assert vecs.shape == (3, 384) and vecs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert vecs[0] @ vecs[1] > 0.5  # shared words: near
    np.testing.assert_allclose(fake.embed_query("thymoma weakness"), vecs[1], atol=1e-6)
