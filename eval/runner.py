"""Run a gold set through citewise (and the stock baseline) and collect per-question records.

Each record holds exactly what `citewise ask --json` prints for the question, the top-10
retrieved passages used for the retrieval metrics, and the wall time of the answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.service import Citewise
from eval.gold import GoldQuestion
from ingest.progress import bar

RETRIEVAL_DEPTH = 10


@dataclass
class Record:
    gold: GoldQuestion
    answer: dict[str, Any]  # the `citewise ask --json` object
    retrieved: list[str]  # top-10 passage texts, for retrieval metrics
    latency_ms: float
    sentences: list[tuple[str, list[str]]] = field(default_factory=list)  # (text, passages)


def run_citewise(service: Citewise, gold: list[GoldQuestion], k: int | None = None,
                 mode: str = "extractive", progress: bool = False) -> list[Record]:
    """`mode` is extractive or generative; a generative answer's sentences are the verified
    ones (`Answer.final_sentences`): what the user is shown as the answer."""
    retriever = service.index.retriever()
    records: list[Record] = []
    for q in _bar(gold, progress, "citewise"):
        t0 = time.perf_counter()
        answer = service.ask(q.question, k, mode=mode)
        latency = (time.perf_counter() - t0) * 1000
        top = retriever.search(q.question, RETRIEVAL_DEPTH)
        by_id = {c.id: c for c in answer.citations}
        sentences = [(s.text, [by_id[n].passage for n in s.citations if n in by_id])
                     for s in answer.final_sentences]
        records.append(Record(q, answer.to_json(), [h.chunk.text for h in top], latency,
                              sentences))
    return records


def run_baseline(baseline: Any, gold: list[GoldQuestion], progress: bool = False) -> list[Record]:
    """The stock llama-index pipeline: dense top-2, the answer is the retrieved text."""
    records: list[Record] = []
    for q in _bar(gold, progress, "baseline"):
        result = baseline.retrieve(q.question, 2)
        answer = {"question": q.question, "answer": result.answer, "abstained": False,
                  "mode": "baseline", "citations": [],
                  "retrieved": [{"rank": i, "source": s, "text": t, "score": None}
                                for i, (t, s) in enumerate(zip(result.texts, result.sources,
                                                               strict=True), start=1)]}
        records.append(Record(q, answer, list(result.texts), result.latency_ms))
    return records


def _bar(items: list[GoldQuestion], progress: bool, desc: str) -> Iterable[GoldQuestion]:
    return bar(items, enabled=progress, desc=desc, unit="question")
