"""citewise as llama-index components (`app.llama`), driven only through llama-index's own
APIs: `retrieve`, `query`, `chat`, and stock components composed with them. Fake
embedder, small index: fast."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from llama_index.core import Settings as LlamaSettings
from llama_index.core.base.response.schema import Response
from llama_index.core.chat_engine.types import AgentChatResponse
from llama_index.core.llms import ChatMessage, MessageRole, MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.response_synthesizers.no_text import NoText
from llama_index.core.retrievers import QueryFusionRetriever
from llama_index.core.schema import MetadataMode, NodeWithScore, TextNode
from llama_index.core.vector_stores import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)

import app.service
from app.answer.types import ABSTAIN_TEXT
from app.config import Settings
from app.llama import CitewiseChatEngine, CitewiseQueryEngine, CitewiseRetriever
from app.service import Citewise
from ingest.errors import ConfigError, IndexMissingError
from tests.conftest import QUESTION
from tests.fakes import HashingEmbedder, generative, numbered_sources

ROOT = Path(__file__).resolve().parent.parent
LEMS = "004_5e456227b6f932b4.txt"  # the two default sources
NEURO = "000_ca9eb5d6de5c83e8.txt"


@pytest.fixture
def ingested(service: Citewise) -> Citewise:
    service.ingest()
    return service


def _filters(*filters: MetadataFilter | MetadataFilters,
             condition: FilterCondition = FilterCondition.AND) -> MetadataFilters:
    return MetadataFilters(filters=list(filters), condition=condition)


def test_retrieve_returns_the_apps_passages_as_nodes(ingested: Citewise) -> None:
    retriever = CitewiseRetriever(ingested, similarity_top_k=4)
    nodes = retriever.retrieve(QUESTION)
    hits = ingested.index.retriever().search(QUESTION, 4)
    assert [n.node.node_id for n in nodes] == [h.chunk.id for h in hits]  # same retrieval
    assert [n.score for n in nodes] == [h.score for h in hits]
    for n in nodes:
        assert isinstance(n, NodeWithScore) and isinstance(n.node, TextNode)
        meta = n.node.metadata
        text = ingested.document_text(meta["doc"])
        assert text is not None and text[meta["start"]:meta["end"]] == n.node.get_content()
        assert (n.node.start_char_idx, n.node.end_char_idx) == (meta["start"], meta["end"])
        assert meta["chunk_id"] == n.node.node_id and n.node.ref_doc_id == meta["doc"]
        assert meta["title"] and meta["heading_path"].startswith(meta["title"])
        assert "page" not in meta  # text sources have no pages
        embedded = n.node.get_content(metadata_mode=MetadataMode.EMBED)
        assert "chunk_id" not in embedded and "start:" not in embedded
        assert "title:" in n.node.get_content(metadata_mode=MetadataMode.LLM)
    assert any("antibody-mediated autoimmunity" in n.node.get_content().lower()
               for n in nodes)


def test_retriever_from_settings_and_default_k(settings: Settings) -> None:
    retriever = CitewiseRetriever.from_settings(settings, HashingEmbedder())
    retriever.service.ingest()
    assert len(retriever.retrieve(QUESTION)) == settings.top_k


@pytest.mark.parametrize("filters, docs", [
    (_filters(MetadataFilter(key="doc", value=LEMS)), {LEMS}),
    (_filters(MetadataFilter(key="doc", value=[NEURO], operator=FilterOperator.IN)), {NEURO}),
    (_filters(MetadataFilter(key="doc", value=LEMS, operator=FilterOperator.NE)), {NEURO}),
    (_filters(MetadataFilter(key="doc", value=[LEMS], operator=FilterOperator.NIN)), {NEURO}),
    (_filters(MetadataFilter(key="doc", value=LEMS), MetadataFilter(key="doc", value=NEURO),
              condition=FilterCondition.OR), {LEMS, NEURO}),
    (_filters(MetadataFilter(key="title",
                             value="What Is Paraneoplastic Neuromyopathy And Neuropathy?")),
     {NEURO}),
])
def test_metadata_filters_choose_documents(ingested: Citewise, filters: MetadataFilters,
                                           docs: set[str]) -> None:
    nodes = CitewiseRetriever(ingested, similarity_top_k=10, filters=filters).retrieve(QUESTION)
    assert nodes and {n.node.metadata["doc"] for n in nodes} == docs


def test_filters_that_match_nothing_find_nothing(ingested: Citewise) -> None:
    both = _filters(MetadataFilter(key="doc", value=LEMS), MetadataFilter(key="doc", value=NEURO))
    assert CitewiseRetriever(ingested, filters=both).retrieve(QUESTION) == []
    engine = CitewiseQueryEngine(ingested, filters=both)
    response = engine.query(QUESTION)
    assert str(response) == ABSTAIN_TEXT and response.source_nodes == []


@pytest.mark.parametrize("bad, message", [
    (MetadataFilter(key="page", value=3), "'page'"),
    (MetadataFilter(key="doc", value=LEMS, operator=FilterOperator.GT), ">"),
    (MetadataFilter(key="doc", value=LEMS, operator=FilterOperator.IN), "needs a list"),
    (MetadataFilter(key="doc", value=[LEMS]), "use in or nin"),
])
def test_an_unsupported_filter_says_what_is_supported(ingested: Citewise, bad: MetadataFilter,
                                                      message: str) -> None:
    retriever = CitewiseRetriever(ingested, filters=_filters(bad))
    with pytest.raises(ConfigError, match=re.escape(message)):
        retriever.retrieve(QUESTION)


def test_composes_with_stock_fusion_retriever_and_query_engine(ingested: Citewise) -> None:
    lems = CitewiseRetriever(ingested, filters=_filters(MetadataFilter(key="doc", value=LEMS)))
    neuro = CitewiseRetriever(ingested, filters=_filters(MetadataFilter(key="doc", value=NEURO)))
    fusion = QueryFusionRetriever([lems, neuro], llm=MockLLM(), num_queries=1,
                                  mode="reciprocal_rerank", similarity_top_k=6, use_async=False)
    fused = fusion.retrieve(QUESTION)
    assert {n.node.metadata["doc"] for n in fused} == {LEMS, NEURO}
    assert fused[0].node.node_id in {lems.retrieve(QUESTION)[0].node.node_id,
                                     neuro.retrieve(QUESTION)[0].node.node_id}
    engine = RetrieverQueryEngine(fusion, response_synthesizer=NoText(llm=MockLLM()))
    response = engine.query(QUESTION)
    assert [n.node.node_id for n in response.source_nodes] == [n.node.node_id for n in fused]
    assert LlamaSettings._llm is None and LlamaSettings._embed_model is None  # never touched


def test_query_engine_cites_with_source_nodes_and_verdicts(ingested: Citewise) -> None:
    response = CitewiseQueryEngine(ingested).query(QUESTION)
    assert isinstance(response, Response)
    answer = ingested.ask(QUESTION)
    assert str(response) == answer.text
    assert len(response.source_nodes) == len(answer.citations) > 0
    for n, source in enumerate(response.source_nodes, start=1):
        meta = source.node.metadata
        assert meta["citation"] == n and f"[{n}]" in str(response)
        text = ingested.document_text(meta["doc"])
        assert text is not None and text[meta["quote_start"]:meta["quote_end"]] == meta["quote"]
        assert meta["quote"] in source.node.get_content()
    verdicts = response.metadata["sentences"]
    assert [s["text"] for s in verdicts] == [s.text for s in answer.sentences]
    assert all(s["supported"] is None for s in verdicts)  # extractive: verbatim sentences
    assert response.metadata["abstained"] is False and response.metadata["mode"] == "extractive"


def test_query_engine_abstains_off_topic(ingested: Citewise) -> None:
    response = CitewiseQueryEngine.from_settings(ingested.settings, ingested.embedder).query(
        "What is the capital of Australia?")
    assert str(response) == ABSTAIN_TEXT and response.source_nodes == []
    assert response.metadata["abstained"] is True


def test_generative_verdicts_mark_a_removed_sentence(settings: Settings,
                                                     embedder: HashingEmbedder) -> None:
    def reply(messages: list[dict]) -> str:
        sources = numbered_sources(messages)
        if not sources:
            return "unused"
        return f"{sources[0]} [1] The moon is made of green cheese and cures it. [1]"

    service, _ = generative(settings, embedder, reply)
    response = CitewiseQueryEngine(service).query(QUESTION)
    verdicts = response.metadata["sentences"]
    assert response.metadata["mode"] == "generative"
    assert [s["supported"] for s in verdicts if "cheese" in s["text"]] == [False]
    assert any(s["supported"] is True for s in verdicts)
    assert "cheese" not in str(response)


def test_chat_engine_rewrites_follow_ups(ingested: Citewise) -> None:
    engine = CitewiseChatEngine(ingested)
    first = engine.chat(QUESTION)
    assert isinstance(first, AgentChatResponse) and first.metadata["query"] == QUESTION
    second = engine.chat("And how is it treated?")
    assert second.metadata["query"] == "How is paraneoplastic muscle weakness treated?"
    assert str(second) == ingested.ask("How is paraneoplastic muscle weakness treated?").text
    assert second.source_nodes and second.source_nodes[0].node.metadata["citation"] == 1
    assert [m.role for m in engine.chat_history] == [MessageRole.USER, MessageRole.ASSISTANT] * 2
    assert engine.chat_history[2].content == "And how is it treated?"
    engine.reset()
    assert engine.chat_history == []
    assert engine.chat("And how is it treated?").metadata["query"] == "And how is it treated?"


def test_chat_history_passed_in_replaces_the_conversation(ingested: Citewise) -> None:
    engine = CitewiseChatEngine(ingested)
    history = [ChatMessage(role=MessageRole.USER, content=QUESTION),
               ChatMessage(role=MessageRole.ASSISTANT, content="Antibodies, mostly.")]
    reply = engine.chat("What about children?", chat_history=history)
    assert reply.metadata["query"] == "What about children? paraneoplastic muscle weakness"
    assert len(engine.chat_history) == 4


def test_stream_chat_streams_the_verified_answer(ingested: Citewise) -> None:
    engine = CitewiseChatEngine(ingested)
    streamed = engine.stream_chat(QUESTION)
    pieces = list(streamed.response_gen)
    assert len(pieces) > 1 and "".join(pieces) == ingested.ask(QUESTION).text
    assert streamed.source_nodes and streamed.metadata["query"] == QUESTION

    async def both() -> tuple[str, str]:
        reply = await engine.achat("And how is it treated?")
        stream = await engine.astream_chat("And how is it treated?")
        return str(reply), "".join([p async for p in stream.async_response_gen()])

    said, streamed_text = asyncio.run(both())
    assert said == streamed_text and said


def test_generative_chat_rewrites_with_the_model(settings: Settings,
                                                 embedder: HashingEmbedder) -> None:
    service, model = generative(settings, embedder)
    engine = CitewiseChatEngine(service)
    engine.chat(QUESTION)
    before = len(model.calls)
    engine.chat("And how is it treated?")
    rewrite = model.calls[before]  # the first call of the turn: the rewrite prompt
    assert not numbered_sources(rewrite) and "how is it treated" in rewrite[-1]["content"]


def test_empty_chat_message_is_one_clear_error(ingested: Citewise) -> None:
    with pytest.raises(ConfigError, match="type a question"):
        CitewiseChatEngine(ingested).chat("   ")


def _readme_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## llama-index\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)[0]


def test_the_readme_example_runs(ingested: Citewise, monkeypatch: pytest.MonkeyPatch,
                                 tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's llama-index example, as printed there, over this test's index."""
    monkeypatch.setattr(app.service, "default_embedder", lambda settings: HashingEmbedder())
    monkeypatch.setenv("CITEWISE_SOURCES_DIR", str(ingested.settings.sources_dir))
    monkeypatch.setenv("CITEWISE_INDEX_DIR", str(ingested.settings.index_dir))
    monkeypatch.chdir(tmp_path)  # no .env
    ingested.index.close()
    exec(compile(_readme_example(), "README.md", "exec"), {})  # noqa: S102
    printed = capsys.readouterr().out.splitlines()
    assert printed and all(re.fullmatch(r"\S+\.txt \d+-\d+ .+", line) for line in printed)


def test_no_index_yet_is_one_clear_error(settings: Settings) -> None:
    retriever = CitewiseRetriever.from_settings(settings, HashingEmbedder())
    with pytest.raises(IndexMissingError, match="run `citewise ingest` first"):
        retriever.retrieve(QUESTION)


def test_pdf_passages_carry_their_pages(tmp_path: Path) -> None:
    from tests.pdf_samples import make_pdf, page_texts

    folder = tmp_path / "pdfs"
    folder.mkdir()
    (folder / "lems.pdf").write_bytes(make_pdf())
    settings = Settings(sources_dir=folder, index_dir=tmp_path / "index", _env_file=None)
    service = Citewise(settings, HashingEmbedder())
    service.ingest()
    question = "How does amifampridine improve muscle strength?"
    nodes = CitewiseRetriever(service, similarity_top_k=3).retrieve(question)
    oracle = page_texts(make_pdf())
    for n in nodes:
        meta = n.node.metadata
        assert 1 <= meta["page"] <= meta["page_end"] <= len(oracle)
        first_words = " ".join(n.node.get_content().split()[:4])
        assert first_words in " ".join(oracle[meta["page"] - 1].split())
    cited = CitewiseQueryEngine(service).query(question).source_nodes
    assert cited and any(c.node.metadata["page"] == 3 for c in cited)
    assert all(" ".join(c.node.metadata["quote"].split())
               in " ".join(" ".join(oracle[p - 1].split()) for p in
                           range(c.node.metadata["page"], c.node.metadata["page_end"] + 1))
               for c in cited)
