"""`citewise mcp`: the index served to MCP clients (agents, editors) over stdio.

Tools: `search` (ranked passages with their spans: the retrieval the answers use),
`ask` (the verified answer, its sentences with verdicts and its citations) and
`documents` (what is indexed); each indexed document is a resource,
`citewise://documents/{id}`, holding its cleaned text, the text every span indexes.
Each tool returns structured content (its output schema is published) and the same JSON
as text. A user mistake (no index, an empty query, an unknown document) is a tool error
of one sentence saying what to do.

stdout is the transport: while serving, the SDK points file descriptor 1 at stderr and
speaks on a private copy, and `sys.stdout` is `sys.stderr`, so prints (buffered or not),
progress bars, logging and llama.cpp's chatter all land on stderr. Everything slow (the
index, the embedder, the model) is loaded after that, in the lifespan's warm-up thread or
on first use, never before.

Only `citewise mcp` imports this module (it imports the `mcp` SDK).
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import quote

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.server.mcpserver.resources import ResourceSecurity
from mcp_types import Resource as ResourceInfo
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.answer.types import Answer, Draft, Final, Retry
from app.service import Citewise
from index.hybrid import Hit
from index.manifest import DocRecord
from ingest.errors import CitewiseError, IndexMissingError

log = logging.getLogger(__name__)

URI_PREFIX = "citewise://documents/"
DRAFT_SHOWN = 400  # characters of a streaming draft sent in one progress message


def document_uri(doc_id: str) -> str:
    """The resource address of a document: its id, percent-encoded whole ('/' too)."""
    return URI_PREFIX + quote(doc_id, safe="")


class _Open(BaseModel):
    """Payload models keep fields they do not name (say, a `page` a format adds)."""

    model_config = ConfigDict(extra="allow")


class Passage(_Open):
    rank: int = Field(description="1 = best")
    source: str = Field(description="document id: its path in the sources folder (as the "
                                    "`source` of a citation)")
    title: str
    heading_path: list[str] = Field(description="the headings above the passage, outermost first")
    start: int = Field(description="start of the passage in the document's cleaned text")
    end: int = Field(description="end: document_text[start:end] == text")
    score: float = Field(description="fused retrieval score (higher is better)")
    text: str
    chunk_id: str
    page: int | None = Field(None, description="PDF page the passage starts on (null: not "
                                               "a PDF, or not known)")
    page_end: int | None = Field(None, description="PDF page it ends on")


class SearchResult(_Open):
    query: str
    k: int
    passages: list[Passage]


class SentenceVerdict(_Open):
    text: str
    citations: list[int] = Field(description="citation ids, as the [n] markers")
    supported: bool | None = Field(description="null: a source sentence verbatim; true/false: "
                                               "a generated sentence after verification "
                                               "(false: removed from the answer)")
    score: float
    reason: str


class CitationOut(_Open):
    id: int = Field(description="the n of the [n] markers")
    source: str = Field(description="document id")
    title: str
    heading_path: list[str]
    passage: str = Field(description="the cited passage")
    quote: str = Field(description="the supporting sentence, exact")
    start: int = Field(description="span of the quote in the document's cleaned text")
    end: int = Field(description="document_text[start:end] == quote")
    chunk_id: str
    page: int | None = Field(None, description="PDF page the quote starts on, if known")
    page_end: int | None = Field(None, description="PDF page it ends on, if known")
    anchor: str | None = Field(None, description="id of the HTML/Markdown heading above it")


class AskResult(_Open):
    question: str
    answer: str = Field(description="the verified answer, each sentence with its [n] markers")
    abstained: bool = Field(description="true when the sources do not cover the question")
    mode: str = Field(description="extractive or generative")
    generator: str
    note: str
    sentences: list[SentenceVerdict]
    citations: list[CitationOut]
    timings: dict[str, float] = Field(description="milliseconds")


class DocumentInfo(_Open):
    id: str
    uri: str = Field(description="its resource: the cleaned text citations point into")
    title: str
    path: str
    chunks: int
    ingested_at: float = Field(description="Unix time")


class DocumentList(_Open):
    documents: list[DocumentInfo]


def passage_json(rank: int, hit: Hit) -> dict[str, Any]:
    """A search hit as a passage: the chunk's span in its document and the fused score."""
    chunk = hit.chunk
    return {"rank": rank, "source": chunk.doc_id, "title": chunk.title,
            "heading_path": list(chunk.heading_path), "start": chunk.start, "end": chunk.end,
            "score": round(hit.score, 6), "text": chunk.text, "chunk_id": chunk.id,
            "page": chunk.page, "page_end": chunk.page_end}


def ask_json(answer: Answer) -> dict[str, Any]:
    """The parts of `Answer.to_json()` an MCP client needs (the retrieved passages are
    left to `search`)."""
    full = answer.to_json()
    return {key: full[key] for key in ("question", "answer", "abstained", "mode", "generator",
                                       "note", "sentences", "citations", "timings")}


def document_json(record: DocRecord) -> dict[str, Any]:
    return {"id": record.doc_id, "uri": document_uri(record.doc_id), "title": record.title,
            "path": record.path, "chunks": record.n_chunks, "ingested_at": record.ingested_at}


class Tools:
    """What the MCP tools and resources do, on plain values; every user mistake is a
    `ToolError` of one sentence saying what to do."""

    def __init__(self, service: Citewise, mode: str | None = None):
        self.service = service
        self.mode = mode

    def search(self, query: str, k: int | None, documents: list[str] | None) -> SearchResult:
        query = " ".join(query.split())
        if not query:
            raise ToolError("The query is empty: pass the words to search for, e.g. "
                            "\"paraneoplastic muscle weakness\".")
        k = self._k(k)
        doc_ids = self._doc_ids(documents)
        try:
            hits = self.service.index.retriever().search(query, k, doc_ids)
        except CitewiseError as exc:
            raise ToolError(str(exc)) from None
        return SearchResult.model_validate({
            "query": query, "k": k,
            "passages": [passage_json(rank, hit) for rank, hit in enumerate(hits[:k], 1)]})

    def answer(self, question: str, documents: list[str] | None,
               on_event: Callable[[Draft | Retry], None] | None = None) -> AskResult:
        """The final answer; `on_event(event)` sees every `Draft`/`Retry` before it."""
        question = " ".join(question.split())
        if not question:
            raise ToolError("The question is empty: pass a question about the documents, "
                            "e.g. \"What causes paraneoplastic muscle weakness?\".")
        doc_ids = self._doc_ids(documents)
        answer: Answer | None = None
        try:
            for event in self.service.stream(question, None, doc_ids, self.mode):
                if isinstance(event, Final):
                    answer = event.answer
                elif on_event is not None:
                    on_event(event)
        except CitewiseError as exc:
            raise ToolError(str(exc)) from None
        if answer is None:
            raise RuntimeError("the answer stream ended without its final answer")
        return AskResult.model_validate(ask_json(answer))

    def documents(self) -> DocumentList:
        try:
            records = self.service.documents()
        except CitewiseError as exc:
            raise ToolError(str(exc)) from None
        return DocumentList.model_validate(
            {"documents": [document_json(r) for r in sorted(records, key=lambda r: r.doc_id)]})

    def document_text(self, doc_id: str) -> str:
        try:
            text = self.service.document_text(doc_id)
        except IndexMissingError as exc:
            raise ResourceNotFoundError(str(exc)) from None
        if text is None:
            raise ResourceNotFoundError(
                f"No indexed document {doc_id!r}: list the documents (resources/list or the "
                "`documents` tool) and use one of their ids.")
        return text

    def _k(self, k: int | None) -> int:
        if k is None:
            return self.service.settings.top_k
        if not 1 <= k <= 100:
            raise ToolError(f"k is {k}: ask for 1 to 100 passages.")
        return k

    def _doc_ids(self, documents: list[str] | None) -> list[str] | None:
        if not documents:
            return None
        try:
            known = {r.doc_id for r in self.service.documents()}
        except CitewiseError as exc:
            raise ToolError(str(exc)) from None
        unknown = [d for d in documents if d not in known]
        if unknown:
            raise ToolError(f"Unknown document id {unknown[0]!r}: use ids from the "
                            "`documents` tool (or resources/list), or leave `documents` out "
                            "to search them all.")
        return list(dict.fromkeys(documents))


def _warm_up(service: Citewise) -> None:
    """Open the index and load the embedder, so the first call does not wait for them."""
    try:
        service.load_index()
        service.embedder.embed_query("warm up")
    except CitewiseError as exc:  # the tools say so to the client, call by call
        log.warning("%s", exc)
    except Exception:  # noqa: BLE001 - a warm-up never stops the server
        log.exception("warming up failed; the tools will try again")


def argument_error(tool: str, error: ValidationError) -> str:
    """One sentence for arguments that do not fit a tool's input schema (pydantic's own
    report runs to several lines and a link)."""
    first = error.errors()[0]
    name = ".".join(str(part) for part in first["loc"]) or "arguments"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    if first["type"] == "missing":
        return f"Error executing tool {tool}: `{name}` is required{more}: see its input schema."
    return (f"Error executing tool {tool}: `{name}`: {first['msg']}{more}: see its input "
            "schema.")


class _Server(MCPServer):
    """An `MCPServer` whose resource list is the index's documents as they are now (an
    ingest in between adds or removes some), one resource per document, and whose
    argument errors are one sentence."""

    def __init__(self, tools: Tools, **kwargs: Any):
        super().__init__(**kwargs)
        self._citewise = tools

    async def call_tool(self, name: str, arguments: dict[str, Any],
                        context: Context | None = None) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(argument_error(name, exc.__cause__)) from exc.__cause__
            raise

    async def list_resources(self) -> list[ResourceInfo]:
        listed = await super().list_resources()
        try:
            records = await anyio.to_thread.run_sync(self._citewise.service.documents)
        except CitewiseError as exc:
            log.info("no documents to list: %s", exc)
            return listed
        return listed + [
            ResourceInfo(uri=document_uri(r.doc_id), name=r.doc_id, title=r.title,
                         description=f"Cleaned text of {r.path} ({r.n_chunks} passages): "
                                     "what citation spans index.",
                         mime_type="text/plain")
            for r in sorted(records, key=lambda r: r.doc_id)]


def build_server(service: Citewise, mode: str | None = None) -> MCPServer:
    """The MCP server: tools `search`, `ask`, `documents`; a resource per document."""
    tools = Tools(service, mode)

    @asynccontextmanager
    async def lifespan(_server: MCPServer) -> AsyncIterator[None]:
        # Runs once the transport holds its private copy of stdout (and fd 1 points at
        # stderr). Python's own sys.stdout would still keep a print in its buffer and
        # flush it onto the restored stdout at exit: point it at stderr meanwhile.
        stdout = sys.stdout
        stdout.flush()
        sys.stdout = sys.stderr
        threading.Thread(target=_warm_up, args=(service,), daemon=True,
                         name="mcp-warm-up").start()
        try:
            yield None
        finally:
            sys.stdout = stdout

    server = _Server(tools, name="citewise", title="citewise", lifespan=lifespan,
                     log_level="WARNING",
                     instructions="Search medical source documents and get answers in "
                                  "which every sentence is cited to an exact passage: "
                                  "document_text[start:end] == quote.")

    @server.tool()
    async def search(
        query: Annotated[str, Field(description="what to look for")],
        k: Annotated[int | None, Field(description="passages to return, 1-100 (default: "
                                                   "CITEWISE_TOP_K, 5)")] = None,
        documents: Annotated[list[str] | None, Field(
            description="search only these document ids (default: all)")] = None,
    ) -> SearchResult:
        """Ranked passages for a query, each with its document, title, heading path,
        character span in the document's cleaned text, score and text: the same hybrid
        retrieval the answers use."""
        return await anyio.to_thread.run_sync(tools.search, query, k, documents)

    @server.tool()
    async def ask(
        question: Annotated[str, Field(description="a question about the documents")],
        ctx: Context,
        documents: Annotated[list[str] | None, Field(
            description="answer only from these document ids (default: all)")] = None,
    ) -> AskResult:
        """The verified answer to a question, every sentence followed by [n] markers; its
        sentences with their verdicts (a generated sentence the sources do not support is
        removed: supported false) and its citations (document, passage, the exact quote
        and its span). "The sources don't cover this." when they do not (abstained)."""
        drafted: list[str] = []

        def progress(event: Draft | Retry) -> None:
            if isinstance(event, Retry):
                drafted.clear()
                message = event.reason
            else:
                drafted.append(event.text)
                message = "Draft, being checked: " + "".join(drafted)[-DRAFT_SHOWN:]
            anyio.from_thread.run(ctx.report_progress, len(drafted), None, message)

        return await anyio.to_thread.run_sync(tools.answer, question, documents, progress)

    @server.tool(name="documents")
    async def list_documents() -> DocumentList:
        """The indexed documents: id (for `documents` filters), resource uri, title,
        file, passages and when each was ingested."""
        return await anyio.to_thread.run_sync(tools.documents)

    @server.resource(URI_PREFIX + "{doc_id}", name="document", mime_type="text/plain",
                     description="An indexed document's cleaned text: what every start/end "
                                 "span indexes.",
                     security=ResourceSecurity(exempt_params={"doc_id"}))
    async def document(doc_id: str) -> str:
        # Safe without the path checks: the id is only looked up in the manifest.
        return await anyio.to_thread.run_sync(tools.document_text, doc_id)

    return server


def serve(service: Citewise, mode: str | None = None) -> None:
    """Serve over stdio until the client closes stdin."""
    build_server(service, mode).run("stdio")

