"""The API's requests, responses and errors as plain data, in OpenAI's shapes.

Requests are pydantic models (`ChatRequest`, `RetrieveRequest`); `parse` turns a body into
one, or an `ApiError` whose message names the field. Responses are dicts built here:
a `chat.completion`, its `chat.completion.chunk`s, the `list` of models, the retrieved
passages. The citewise part of an answer (citations, sentences and their verdicts, the
query searched) is the `citewise` field of the assistant message, and of the delta of the
last stream chunk (`extra`).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.answer.types import Answer, ModeChoice
from index.hybrid import Hit

# The model names a request picks the answer mode by; `citewise`: the server's default
# (CITEWISE_ANSWER_MODE).
MODELS: dict[str, ModeChoice | None] = {"citewise": None, "citewise-extractive": "extractive",
                                        "citewise-generative": "generative"}
CREATED = 1_767_225_600  # 2026-01-01: the `created` of the models listed
MAX_K = 50


class ApiError(Exception):
    """An HTTP error in OpenAI's error JSON: `{"error": {message, type, param, code}}`."""

    def __init__(self, status: int, message: str, type_: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.param = param
        self.code = code
        self.headers = headers or {}

    def to_json(self) -> dict:
        return error_json(self.message, self.type, self.param, self.code)


def error_json(message: str, type_: str = "invalid_request_error", param: str | None = None,
               code: str | None = None) -> dict:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


class ContentPart(_Model):
    type: str
    text: str | None = None


class ChatMessage(_Model):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self, where: str) -> str:
        """The message's text; text parts joined. `ApiError` for a part that is not text."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        for i, part in enumerate(self.content):
            if part.type != "text" or part.text is None:
                raise ApiError(400, f"{where}.content[{i}]: only text parts are supported "
                                    f"(got type {part.type!r}).", param=f"{where}.content")
        return " ".join(part.text or "" for part in self.content)


class ChatRequest(_Model):
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    n: int = Field(1, ge=1, le=1)
    k: int | None = Field(None, ge=1, le=MAX_K)  # passages to retrieve (CITEWISE_TOP_K)
    documents: list[str] | None = None  # doc ids to search; None: all
    store: bool = False  # keep this turn in the chat history
    user: str | None = None
    metadata: dict[str, str] | None = None

    @property
    def stored(self) -> bool:
        """Keep this turn in the chat history: `store: true`, or `metadata.store` "true"."""
        return self.store or (self.metadata or {}).get("store", "").lower() == "true"


class RetrieveRequest(_Model):
    query: str = Field(min_length=1)
    k: int = Field(5, ge=1, le=MAX_K)
    documents: list[str] | None = None


def parse(model: type[_Model], body: bytes):
    """The request `model` from a JSON body, or a 400 that names the field at fault."""
    try:
        data = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"The request body is not valid JSON ({exc}): send a JSON "
                            "object.", code="invalid_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.", code="invalid_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = _field(err["loc"])
        raise ApiError(400, f"{field}: {err['msg'][:1].lower()}{err['msg'][1:]}.",
                       param=field, code="invalid_value"
                       if err["type"] != "missing" else "missing_field") from None


def _field(loc: Sequence[int | str]) -> str:
    """('messages', 0, 'role') -> 'messages[0].role'; union branch names dropped."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("str", "list[ContentPart]") or "[" in str(part):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


# -- responses --------------------------------------------------------------------------------
def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def extra(answer: Answer, query: str) -> dict:
    """The `citewise` field: what the answer rests on, with exact spans."""
    return {"query": query, "mode": answer.mode, "abstained": answer.abstained,
            "generator": answer.generator, "note": answer.note,
            "citations": [c.to_json() for c in answer.citations],
            "sentences": [s.to_json() for s in answer.sentences],
            "timings": {k: round(v, 1) for k, v in answer.timings.items()}}


def completion(cid: str, model: str, answer: Answer, query: str) -> dict:
    message = {"role": "assistant", "content": answer.text, "refusal": None,
               "citewise": extra(answer, query)}
    return {"id": cid, "object": "chat.completion", "created": int(time.time()),
            "model": model, "system_fingerprint": None, "usage": None,
            "choices": [{"index": 0, "message": message, "finish_reason": "stop",
                         "logprobs": None}]}


def chunk(cid: str, model: str, delta: dict, finish: str | None = None) -> dict:
    return {"id": cid, "object": "chat.completion.chunk", "created": int(time.time()),
            "model": model, "system_fingerprint": None,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                         "logprobs": None}]}


def content_pieces(answer: Answer) -> list[str]:
    """The answer's text in pieces, a sentence (with its markers) each: joined they are
    exactly `answer.text`."""
    text = answer.text
    if answer.abstained or not answer.final_sentences:
        return [text]
    pieces = [s.text + "".join(f" [{n}]" for n in s.citations) for s in answer.final_sentences]
    out = [pieces[0], *(" " + p for p in pieces[1:])]
    assert "".join(out) == text
    return out


def models(generative: bool) -> dict:
    names = [m for m, mode in MODELS.items() if generative or mode != "generative"]
    return {"object": "list", "data": [model_card(m) for m in names]}


def model_card(name: str) -> dict:
    return {"id": name, "object": "model", "created": CREATED, "owned_by": "citewise"}


def passages(query: str, hits: Sequence[Hit]) -> dict:
    """Ranked passages with their spans (`doc_text[start:end] == text`) and scores."""
    data = []
    for rank, hit in enumerate(hits, start=1):
        c = hit.chunk
        data.append({"rank": rank, "score": round(hit.score, 6), "chunk_id": c.id,
                     "source": c.doc_id, "title": c.title, "heading_path": list(c.heading_path),
                     "text": c.text, "start": c.start, "end": c.end, "page": c.page,
                     "page_end": c.page_end,
                     "sentences": [{"text": c.text[s.start - c.start:s.end - c.start],
                                    "start": s.start, "end": s.end,
                                    "score": round(s.score, 6)} for s in hit.sentences]})
    return {"object": "list", "query": query, "data": data}
