"""The `/v1` routes: an OpenAI-compatible chat API whose answers carry their citations.

    GET  /v1/models               the answer modes as models (`citewise`, `-extractive`,
                                  `-generative` when a language model is available)
    POST /v1/chat/completions     the OpenAI request; `stream: true` sends SSE chunks and
                                  `data: [DONE]`; extra body fields `k`, `documents`, `store`
    POST /v1/retrieve             {query, k, documents?} -> ranked passages, spans, scores
    GET  /v1/status               slots answering and waiting

Answers run in `Slots` (a bounded thread pool; 429 with Retry-After when its queue is full).
A stream's content is the verified answer, a sentence (with its [n] markers) a chunk;
while a language model writes, its unverified draft comes as `delta.citewise.draft`; the
last chunk's `delta.citewise` holds the citations and the sentences' verdicts. A client
that goes away mid-stream frees its slot: the answer stops being consumed.
Every error is OpenAI's error JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.answer.types import Answer, Draft, Final, Mode, Retry
from app.api import schema
from app.api.auth import KeyCheck
from app.api.schema import ApiError, ChatRequest, RetrieveRequest
from app.api.slots import Cancel, QueueFull, Slots
from app.api.turns import Asked, Searched, answer_events, asked
from app.service import Citewise
from app.web.server import MAX_BODY_BYTES, BodyLimit, Guard
from ingest.errors import CitewiseError, ConfigError, HistoryError, IndexMissingError

log = logging.getLogger(__name__)
_END = object()


class ApiBodyLimit(BodyLimit):
    """`BodyLimit` (1 MB) whose 413 is OpenAI's error JSON."""

    async def refuse(self, send: Any, limit: int, upload: bool) -> None:
        body = json.dumps(schema.error_json(
            f"Request too large: an API request may be at most {limit / 1e6:g} MB.",
            code="request_too_large")).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def build_api(service: Citewise) -> FastAPI:
    """The `/v1` app (mount it at /v1): routes, auth, limits and error shapes."""
    from starlette.middleware import Middleware

    settings = service.settings
    keys = KeyCheck(settings)
    slots = Slots(settings.api_concurrency, settings.api_queue_size)
    api = FastAPI(docs_url=None, redoc_url=None, openapi_url=None,
                  middleware=[Middleware(ApiBodyLimit, max_bytes=MAX_BODY_BYTES),
                              Middleware(Guard)])
    api.state.slots = slots
    store = _Store(service)

    @api.middleware("http")
    async def authorise(request: Request, call_next):
        verdict = keys.check(request.headers.get("authorization"))
        if not verdict.ok:
            return _error(ApiError(401, verdict.message, code="invalid_api_key",
                                   headers={"WWW-Authenticate": "Bearer"}))
        return await call_next(request)

    @api.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = (f"No route {request.method} {request.url.path}: see GET /v1/models, "
                   "POST /v1/chat/completions, POST /v1/retrieve."
                   if exc.status_code in (404, 405) else str(exc.detail))
        return _error(ApiError(exc.status_code, message, code="unknown_url"
                               if exc.status_code == 404 else None))

    @api.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("API request failed")
        return _error(ApiError(500, "The server failed to answer (see its log): try again, "
                                    "or report it.", "server_error"))

    @api.get("/models")
    async def list_models() -> dict:
        generative = await run_in_threadpool(lambda: service.generator is not None)
        return schema.models(generative)

    @api.get("/models/{name}")
    async def get_model(name: str) -> dict:
        _mode_of(name)
        return schema.model_card(name)

    @api.get("/status")
    async def status() -> dict:
        return slots.load().to_json()

    @api.post("/retrieve")
    async def retrieve(request: Request) -> dict:
        req = schema.parse(RetrieveRequest, await request.body())
        from app.answer.evidence import without_instructions

        def search():
            query = without_instructions(" ".join(req.query.split()))
            return schema.passages(query, service.index.retriever().search(
                query, req.k, req.documents or None))

        return await _run(slots, search)

    @api.post("/chat/completions")
    async def chat_completions(request: Request) -> Any:
        req = schema.parse(ChatRequest, await request.body())
        choice = _mode_of(req.model)
        turn = asked(req.messages)
        mode = await run_in_threadpool(_ready, service, choice)
        if req.stored:
            store.check()
        args = (service, turn, mode, req.k, req.documents or None)
        cid = schema.completion_id()
        if not req.stream:
            def answer() -> tuple[str, Answer, dict]:
                query, final = _answered(*args)
                return query, final, store.save(req, turn, query, final) if req.stored else {}

            query, final, saved = await _run(slots, answer)
            body = schema.completion(cid, req.model, final, query)
            body["choices"][0]["message"]["citewise"].update(saved)
            return body
        cancel = Cancel()
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[Any] = asyncio.Queue()
        put = partial(_put, loop, events)
        try:
            slots.submit(partial(_feed, args, put, cancel, req, store), cancel)
        except QueueFull as exc:
            raise _busy(exc) from None
        return EventStream(_sse(cid, req.model, events), cancel)

    return api


def _mode_of(model: str) -> str | None:
    if model not in schema.MODELS:
        raise ApiError(404, f"The model {model!r} does not exist: use one of "
                            f"{', '.join(schema.MODELS)} (GET /v1/models).", param="model",
                       code="model_not_found")
    return schema.MODELS[model]


def _ready(service: Citewise, choice: str | None) -> Mode:
    """The resolved mode, with the index open: a mistake becomes a 400 or 503 before any
    answer is started."""
    try:
        mode = service.mode(choice)
    except ConfigError as exc:
        raise ApiError(400, str(exc), param="model", code="model_unavailable") from None
    try:
        service.load_index()
    except IndexMissingError as exc:
        raise ApiError(503, f"{exc} (or upload documents in the web UI).", "server_error",
                       code="no_index") from None
    except CitewiseError as exc:
        raise ApiError(503, str(exc), "server_error", code="unavailable") from None
    return mode


def _answered(service: Citewise, turn: Asked, mode: Mode, k: int | None,
              doc_ids: list[str] | None) -> tuple[str, Answer]:
    query = turn.question
    for event in answer_events(service, turn, mode, k, doc_ids):
        if isinstance(event, Searched):
            query = event.query
        elif isinstance(event, Final):
            return query, event.answer
    raise CitewiseError("No answer came back: ask again.")


async def _run(slots: Slots, work: Callable[[], Any]) -> Any:
    try:
        future = slots.submit(work)
    except QueueFull as exc:
        raise _busy(exc) from None
    try:
        return await asyncio.wrap_future(future)
    except CitewiseError as exc:
        raise ApiError(503, str(exc), "server_error", code="unavailable") from None


def _busy(exc: QueueFull) -> ApiError:
    return ApiError(429, f"The server is busy answering other questions: retry after "
                         f"{exc.retry_after} s.", "rate_limit_error", code="queue_full",
                    headers={"Retry-After": str(exc.retry_after)})


def _error(exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.to_json(), status_code=exc.status, headers=exc.headers)


# -- streaming --------------------------------------------------------------------------------
def _put(loop: asyncio.AbstractEventLoop, events: asyncio.Queue, item: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the server's loop is closed: it is stopping
        loop.call_soon_threadsafe(events.put_nowait, item)


def _feed(args: tuple, put: Callable[[Any], None], cancel: Cancel, req: ChatRequest,
          store: _Store) -> None:
    """In a slot's thread: consume the answer stream into the request's queue, until it
    ends or the client has gone (`cancel`); then close it."""
    stream = answer_events(*args)
    query = args[1].question
    try:
        for event in stream:
            if cancel.is_set:
                break
            if isinstance(event, Searched):
                query = event.query
            if isinstance(event, Final) and req.stored:
                put(("stored", store.save(req, args[1], query, event.answer)))
            put(event)
    except Exception as exc:  # noqa: BLE001  sent to the client as an error event
        if not isinstance(exc, CitewiseError):
            log.exception("API answer stream failed")
        put(exc)
    finally:
        stream.close()
        put(_END)


def _data(payload: dict | str) -> bytes:
    text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return f"data: {text}\n\n".encode()


async def _sse(cid: str, model: str, events: asyncio.Queue) -> AsyncIterator[bytes]:
    yield _data(schema.chunk(cid, model, {"role": "assistant", "content": ""}))
    query, stored = "", {}
    while True:
        event = await events.get()
        if event is _END:
            break
        match event:
            case Searched(query=query):
                yield _data(schema.chunk(cid, model, {"citewise": {"query": query}}))
            case Draft(text):
                yield _data(schema.chunk(cid, model, {"citewise": {"draft": text}}))
            case Retry(reason):
                yield _data(schema.chunk(cid, model, {"citewise": {"retry": reason}}))
            case ("stored", saved):
                stored = saved
            case Final(answer=answer):
                for piece in schema.content_pieces(answer):
                    yield _data(schema.chunk(cid, model, {"content": piece}))
                extra = {**schema.extra(answer, query), **stored}
                yield _data(schema.chunk(cid, model, {"citewise": extra}, "stop"))
            case Exception() as exc:
                message = (str(exc) if isinstance(exc, CitewiseError) else
                           "The server failed to answer (see its log): try again.")
                yield _data(schema.error_json(message, "server_error"))
    yield _data("[DONE]")


class EventStream(Response):
    """Server-sent events from `body`; when the client goes away (or the stream ends),
    `cancel` is set at once, not at the next event."""

    media_type = "text/event-stream"

    def __init__(self, body: AsyncIterator[bytes], cancel: Cancel):
        self.status_code = 200
        self.background = None
        self.init_headers({"cache-control": "no-cache", "x-accel-buffering": "no"})
        self.body_iterator = body
        self.cancel = cancel

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def stream() -> None:
            await send({"type": "http.response.start", "status": 200,
                        "headers": self.raw_headers})
            async for data in self.body_iterator:
                await send({"type": "http.response.body", "body": data, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        async def gone() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        sending = asyncio.ensure_future(stream())
        listening = asyncio.ensure_future(gone())
        try:
            await asyncio.wait({sending, listening}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.cancel.set()
            for task in (sending, listening):
                task.cancel()
            await asyncio.gather(sending, listening, return_exceptions=True)
        if sending.done() and not sending.cancelled() and sending.exception() is not None:
            exc = sending.exception()
            if not isinstance(exc, OSError):
                raise exc  # type: ignore[misc]


class _Store:
    """Opt-in storage of API turns in the chat history (`store: true`); see app/history.py."""

    def __init__(self, service: Citewise):
        self.service = service
        self._history: Any = None

    def check(self) -> None:
        if not getattr(self.service.settings, "history", False):
            raise ApiError(400, "store: the chat history is off on this server "
                                "(CITEWISE_HISTORY=false): send store: false.", param="store")

    def save(self, req: ChatRequest, turn: Asked, query: str, answer: Answer) -> dict:
        """Store the turn: `{"conversation_id"}` (`metadata.conversation_id` continues
        one, else a new conversation), or `{"store_error"}` when the history cannot be
        written: the answer is sent all the same."""
        from app.history import History, SavedTurn

        try:
            if self._history is None:
                self._history = History(self.service.settings.history_file)
            history = self._history
            cid = (req.metadata or {}).get("conversation_id")
            if not cid or history.conversation(cid) is None:
                cid = history.new_conversation(turn.question, origin="api",
                                               conversation_id=cid)
            history.add_turn(cid, SavedTurn(turn.question, query, answer, k=req.k,
                                            doc_ids=tuple(req.documents or ())))
        except HistoryError as exc:
            log.warning("An API turn was not stored: %s", exc)
            return {"store_error": f"This answer was not stored: {exc}"}
        return {"conversation_id": cid}
