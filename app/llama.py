"""citewise as llama-index components: a retriever, a query engine and a chat engine.

    from app.llama import CitewiseRetriever, CitewiseQueryEngine, CitewiseChatEngine

- `CitewiseRetriever` (a llama-index `BaseRetriever`) runs the app's own hybrid retrieval
  (`Citewise.index.retriever()`: dense chunk and sentence vectors fused with BM25) and
  returns one `NodeWithScore` a passage: the node's id is the chunk id, its text the exact
  passage (`doc_text[start:end]`, also in `start_char_idx`/`end_char_idx`), its score the
  fused one, its metadata `doc`, `title`, `heading_path` (" > " joined), `start`, `end`,
  `chunk_id` and, for a PDF passage, `page` and `page_end`. `MetadataFilters` on the
  document (`doc`, `title`; `==`, `!=`, `in`, `nin`; AND, OR, NOT, nested) choose which
  documents are searched; any other filter is a `ConfigError` saying what is supported.
- `CitewiseQueryEngine` (a `CustomQueryEngine`) answers as `citewise ask` does: the
  `Response` text is the verified answer with its [n] markers, `source_nodes[n - 1]` is
  the passage of citation [n] (its metadata adds `citation`, `quote`, `quote_start`,
  `quote_end`; `page`/`page_end` there are the quote's), and `metadata` holds the
  per-sentence verdicts (`sentences`: text, citations, supported, score, reason),
  `abstained`, `mode`, `note` and `citations`.
- `CitewiseChatEngine` (a `BaseChatEngine`) rewrites each follow-up into a standalone
  question as the CLI and web chats do (`Citewise.standalone_question`), then answers it
  like the query engine; `AgentChatResponse.metadata["query"]` is what was searched.

All three are built from `Settings` (`X.from_settings(settings)`) or from a `Citewise`
(`X(service)`). llama-index's global `Settings` is never read or set: nothing here needs
an LLM or an embedding model of llama-index's (composing a stock component that wants an
LLM, pass it one, e.g. `MockLLM()`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Generator, Sequence
from typing import Any

from llama_index.core.base.response.schema import Response
from llama_index.core.chat_engine.types import (
    AgentChatResponse,
    BaseChatEngine,
    StreamingAgentChatResponse,
)
from llama_index.core.llms import ChatMessage, ChatResponse, MessageRole
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.retrievers import BaseRetriever
from llama_index.core.schema import (
    NodeRelationship,
    NodeWithScore,
    QueryBundle,
    RelatedNodeInfo,
    TextNode,
)
from llama_index.core.vector_stores import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)

from app.answer.types import Answer, Citation
from app.config import Settings
from app.conversation import Conversation, rewrite_query
from app.service import Citewise
from index.embedder import Embedder
from index.hybrid import Hit
from index.manifest import DocRecord
from ingest.errors import ConfigError
from ingest.types import Chunk

FILTER_KEYS = ("doc", "title")
"""Document metadata a filter may name: the document id (its path under the sources
folder, as in `citewise ask --json`'s `source`) and its title."""
_OPERATORS = (FilterOperator.EQ, FilterOperator.NE, FilterOperator.IN, FilterOperator.NIN)
# Metadata kept out of what a llama-index embedder or LLM would read of a node's content:
# citewise embeds the passage with its heading path itself; offsets and ids are for code.
EMBED_EXCLUDED = ["doc", "title", "start", "end", "chunk_id", "page", "page_end", "citation",
                  "quote", "quote_start", "quote_end"]
LLM_EXCLUDED = ["start", "end", "chunk_id", "page_end", "quote_start", "quote_end"]


def _node(chunk_id: str, doc_id: str, title: str, heading_path: Sequence[str], start: int,
          text: str, page: int | None, page_end: int | None, **extra: Any) -> TextNode:
    metadata: dict[str, Any] = {"doc": doc_id, "title": title,
                                "heading_path": " > ".join(heading_path), "start": start,
                                "end": start + len(text), "chunk_id": chunk_id}
    if page is not None:
        metadata.update(page=page, page_end=page_end if page_end is not None else page)
    metadata.update(extra)
    return TextNode(id_=chunk_id, text=text, metadata=metadata, start_char_idx=start,
                    end_char_idx=start + len(text),
                    excluded_embed_metadata_keys=list(EMBED_EXCLUDED),
                    excluded_llm_metadata_keys=list(LLM_EXCLUDED),
                    relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=doc_id)})


def chunk_node(chunk: Chunk, score: float | None = None) -> NodeWithScore:
    """A retrieved passage as a llama-index node (see the module docstring)."""
    node = _node(chunk.id, chunk.doc_id, chunk.title, chunk.heading_path, chunk.start,
                 chunk.text, chunk.page, chunk.page_end)
    return NodeWithScore(node=node, score=score)


def citation_node(citation: Citation, hits: Sequence[Hit] = ()) -> NodeWithScore:
    """The passage citation [n] rests on, with the quote and its span in its metadata."""
    score = next((h.score for h in hits if h.chunk.id == citation.chunk_id), None)
    node = _node(citation.chunk_id, citation.doc_id, citation.title, citation.heading_path,
                 citation.passage_start, citation.passage, citation.page, citation.page_end,
                 citation=citation.id, quote=citation.quote, quote_start=citation.start,
                 quote_end=citation.end)
    return NodeWithScore(node=node, score=score)


# -- filters -------------------------------------------------------------------------------


def _matches(f: MetadataFilter, doc: DocRecord) -> bool:
    if f.key not in FILTER_KEYS or f.operator not in _OPERATORS:
        raise ConfigError(
            f"Unsupported filter {f.key!r} {f.operator.value} {f.value!r}: citewise filters "
            f"documents by {' or '.join(repr(k) for k in FILTER_KEYS)} with ==, !=, in or "
            "nin.")
    have = doc.doc_id if f.key == "doc" else doc.title
    if f.operator in (FilterOperator.IN, FilterOperator.NIN):
        if not isinstance(f.value, list):
            raise ConfigError(f"The filter {f.key!r} {f.operator.value} needs a list of "
                              f"values, got {f.value!r}.")
        found = have in [str(v) for v in f.value]
        return found if f.operator == FilterOperator.IN else not found
    if isinstance(f.value, list):
        raise ConfigError(f"The filter {f.key!r} {f.operator.value} takes one value, got a "
                          f"list: use in or nin for several.")
    same = have == str(f.value)
    return same if f.operator == FilterOperator.EQ else not same


def _all_match(filters: MetadataFilters, doc: DocRecord) -> bool:
    found = [_all_match(f, doc) if isinstance(f, MetadataFilters) else _matches(f, doc)
             for f in filters.filters]
    condition = filters.condition or FilterCondition.AND
    if condition == FilterCondition.AND:
        return all(found)
    if condition == FilterCondition.OR:
        return any(found)
    return not any(found)  # NOT: none of them, as llama-index's own stores read it


def filtered_doc_ids(filters: MetadataFilters | None,
                     docs: dict[str, DocRecord]) -> list[str] | None:
    """The ids of the documents `filters` choose (None: no filters, search everything)."""
    if filters is None or not filters.filters:
        return None
    return sorted(doc_id for doc_id, doc in docs.items() if _all_match(filters, doc))


# -- the retriever -------------------------------------------------------------------------


class CitewiseRetriever(BaseRetriever):
    """citewise's hybrid retrieval as a llama-index retriever: the top `similarity_top_k`
    passages (default `Settings.top_k`) of the documents `filters` choose."""

    def __init__(self, service: Citewise, similarity_top_k: int | None = None,
                 filters: MetadataFilters | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if similarity_top_k is not None and similarity_top_k < 1:
            raise ConfigError(f"similarity_top_k must be at least 1, got {similarity_top_k}.")
        self.service = service
        self.similarity_top_k = similarity_top_k or service.settings.top_k
        self.filters = filters

    @classmethod
    def from_settings(cls, settings: Settings, embedder: Embedder | None = None,
                      **kwargs: Any) -> CitewiseRetriever:
        return cls(Citewise(settings, embedder), **kwargs)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        doc_ids = filtered_doc_ids(self.filters, self.service.index.manifest.docs())
        if doc_ids == []:  # the filters choose no document: nothing to find
            return []
        hits = self.service.index.retriever().search(query_bundle.query_str,
                                                     self.similarity_top_k, doc_ids)
        return [chunk_node(h.chunk, h.score) for h in hits]


# -- answers -------------------------------------------------------------------------------


def answer_metadata(answer: Answer) -> dict[str, Any]:
    """What a `Response` or chat response carries beside the text: the verdicts."""
    return {"question": answer.question, "abstained": answer.abstained, "mode": answer.mode,
            "generator": answer.generator, "note": answer.note,
            "sentences": [s.to_json() for s in answer.sentences],
            "citations": [c.to_json() for c in answer.citations],
            "timings": dict(answer.timings)}


def cited_nodes(answer: Answer) -> list[NodeWithScore]:
    """One node per citation, in citation order: `nodes[n - 1]` is citation [n]."""
    return [citation_node(c, answer.hits) for c in answer.citations]


def _doc_ids(service: Citewise, filters: MetadataFilters | None) -> list[str] | None:
    return filtered_doc_ids(filters, service.index.manifest.docs()) if filters else None


class CitewiseQueryEngine(CustomQueryEngine):
    """Answers with citations, verified (see the module docstring). `mode`: auto,
    extractive or generative (None: `Settings.answer_mode`); `similarity_top_k`: passages
    retrieved (None: `Settings.top_k`)."""

    service: Citewise
    similarity_top_k: int | None = None
    mode: str | None = None
    filters: MetadataFilters | None = None

    def __init__(self, service: Citewise, **data: Any) -> None:
        super().__init__(service=service, **data)

    @classmethod
    def from_settings(cls, settings: Settings, embedder: Embedder | None = None,
                      **kwargs: Any) -> CitewiseQueryEngine:
        return cls(Citewise(settings, embedder), **kwargs)

    def custom_query(self, query_str: str) -> Response:
        return _response(self.service, query_str, self.similarity_top_k, self.mode,
                         self.filters)


def _response(service: Citewise, question: str, k: int | None, mode: str | None,
              filters: MetadataFilters | None) -> Response:
    doc_ids = _doc_ids(service, filters)
    if doc_ids == []:
        answer = Answer(question, (), (), (), abstained=True, mode=service.mode(mode))
    else:
        answer = service.ask(question, k, doc_ids, mode)
    return Response(answer.text, source_nodes=cited_nodes(answer),
                    metadata=answer_metadata(answer))


class CitewiseChatEngine(BaseChatEngine):
    """A conversation over the sources: each message is rewritten into a standalone
    question from the turns before (by the language model in generative mode, by rules
    otherwise: `app.conversation`), then answered with citations. Passing `chat_history`
    to `chat` replaces the conversation with it (its user turns rewritten by the rules)."""

    def __init__(self, service: Citewise, similarity_top_k: int | None = None,
                 mode: str | None = None, filters: MetadataFilters | None = None) -> None:
        self.service = service
        self.similarity_top_k = similarity_top_k
        self.mode = mode
        self.filters = filters
        self.conversation = Conversation()

    @classmethod
    def from_settings(cls, settings: Settings, embedder: Embedder | None = None,
                      **kwargs: Any) -> CitewiseChatEngine:
        return cls(Citewise(settings, embedder), **kwargs)

    def reset(self) -> None:
        self.conversation = Conversation()

    @property
    def chat_history(self) -> list[ChatMessage]:
        out = []
        for e in self.conversation.exchanges:
            out += [ChatMessage(role=MessageRole.USER, content=e.question),
                    ChatMessage(role=MessageRole.ASSISTANT, content=e.answer)]
        return out

    def _set_history(self, history: Sequence[ChatMessage]) -> None:
        conversation, question = Conversation(), None
        for message in history:
            if message.role == MessageRole.USER:
                question = message.content or ""
            elif message.role == MessageRole.ASSISTANT and question is not None:
                query = rewrite_query(question, conversation.topic)
                conversation = conversation.add(question, query, message.content or "")
                question = None
        self.conversation = conversation

    def _turn(self, message: str,
              chat_history: list[ChatMessage] | None) -> tuple[Response, str]:
        if chat_history is not None:
            self._set_history(chat_history)
        question = " ".join(message.split())
        if not question:
            raise ConfigError("The message is empty: type a question.")
        query = self.service.standalone_question(question, self.conversation, self.mode)
        response = _response(self.service, query, self.similarity_top_k, self.mode,
                             self.filters)
        self.conversation = self.conversation.add(question, query, str(response.response))
        return response, query

    def chat(self, message: str,
             chat_history: list[ChatMessage] | None = None) -> AgentChatResponse:
        response, query = self._turn(message, chat_history)
        return AgentChatResponse(response=str(response.response),
                                 source_nodes=response.source_nodes,
                                 metadata={**(response.metadata or {}), "query": query})

    def stream_chat(self, message: str,
                    chat_history: list[ChatMessage] | None = None) -> StreamingAgentChatResponse:
        """The verified answer a sentence at a time. A generated draft is not streamed: its
        sentences may yet be removed, and a llama-index stream cannot take text back."""
        response, query = self._turn(message, chat_history)
        text = str(response.response)
        return _streaming(StreamingAgentChatResponse(
            response=text, chat_stream=_deltas(text), source_nodes=response.source_nodes,
            is_writing_to_memory=False), response, query)

    async def achat(self, message: str,
                    chat_history: list[ChatMessage] | None = None) -> AgentChatResponse:
        return await asyncio.to_thread(self.chat, message, chat_history)

    async def astream_chat(self, message: str, chat_history: list[ChatMessage] | None = None
                           ) -> StreamingAgentChatResponse:
        response, query = await asyncio.to_thread(self._turn, message, chat_history)
        text = str(response.response)
        return _streaming(StreamingAgentChatResponse(
            response=text, achat_stream=_adeltas(text), source_nodes=response.source_nodes,
            is_writing_to_memory=False), response, query)


def _streaming(out: StreamingAgentChatResponse, response: Response,
               query: str) -> StreamingAgentChatResponse:
    """llama-index's streaming chat response has no `metadata` field: it gets one here, as
    `AgentChatResponse` has, so both carry the verdicts and the query searched."""
    out.metadata = {**(response.metadata or {}), "query": query}  # type: ignore[attr-defined]
    return out


def _pieces(text: str) -> list[str]:
    """The answer cut after each citation marker run: sentence-sized deltas that join back
    into the text exactly."""
    from ingest.text import CITATION_MARKER

    cuts = [m.end() for m in CITATION_MARKER.finditer(text)
            if text[m.end():m.end() + 1] in ("", " ")]
    starts = [0, *cuts]
    return [p for p in (text[a:b] for a, b in zip(starts, [*cuts, len(text)], strict=True))
            if p]


def _chat_response(text: str, delta: str) -> ChatResponse:
    return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text),
                        delta=delta)


def _deltas(text: str) -> Generator[ChatResponse, None, None]:
    so_far = ""
    for piece in _pieces(text):
        so_far += piece
        yield _chat_response(so_far, piece)


async def _adeltas(text: str) -> AsyncGenerator[ChatResponse, None]:
    for response in _deltas(text):
        yield response
