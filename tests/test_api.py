"""The OpenAI-compatible API against a real `citewise serve` (a subprocess on a free
loopback port, the real CLI with the fake embedder: `tests.child`), with the official
`openai` client (non-stream, stream, a follow-up turn) and plain `httpx` for the errors;
the page is served on the same port; keys never reach the log; history only on request."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import DEFAULT_SOURCES, QUESTION
from tests.helpers import free_port, popen_interruptible, wait_for

REPO = Path(__file__).resolve().parent.parent
KEYS = ("sk-citewise-alpha-7Qx2", "sk-citewise-beta-9Lm4")
WRONG = "sk-wrong-key-Zz81"


@dataclass
class Server:
    url: str
    root: Path
    log: Path
    process: subprocess.Popen

    @property
    def index(self) -> Path:
        return self.root / "index"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("api")
    shutil.copytree(DEFAULT_SOURCES, root / "sources")
    port = free_port()
    env = {**os.environ, "CITEWISE_SOURCES_DIR": str(root / "sources"),
           "CITEWISE_INDEX_DIR": str(root / "index"),
           "CITEWISE_FEEDBACK_DIR": str(root / "feedback"),
           "CITEWISE_ANSWER_MODE": "extractive", "CITEWISE_PORT": str(port),
           "CITEWISE_ABSTAIN_THRESHOLD": "-1.4",  # the fake embedder: every answer cites
           "CITEWISE_API_KEYS": ",".join(KEYS), "PYTHONPATH": str(REPO)}
    child = [sys.executable, "-m", "tests.child", "cli"]
    subprocess.run([*child, "ingest", "--json"], cwd=root, env=env, check=True,
                   capture_output=True, timeout=300)
    log = root / "serve.log"
    with log.open("w") as out:
        process = popen_interruptible([*child, "serve"], cwd=root, env=env, stdout=out,
                                      stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"citewise serve exited: {log.read_text()}")
        return "citewise is running" in log.read_text()

    try:
        wait_for(up, 120, "citewise serve to print its address", interval=0.1)
        yield Server(url, root, log, process)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def openai_client(server: Server, key: str = KEYS[0]):
    import httpx
    import openai

    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0,
                         http_client=httpx.Client(trust_env=False, timeout=60))


def http(server: Server, key: str | None = KEYS[1]):
    import httpx

    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.url, headers=headers, trust_env=False, timeout=60)


def doc_text(server: Server, doc_id: str) -> str:
    from index.manifest import Manifest

    manifest = Manifest(server.index)
    try:
        text = manifest.doc_text(doc_id)
    finally:
        manifest.close()
    assert text is not None
    return text


def extra(obj) -> dict:
    return (obj.model_extra or {})["citewise"]


# -- answers through the official client -------------------------------------------------------
def test_models_are_the_answer_modes(server: Server) -> None:
    ids = [m.id for m in openai_client(server).models.list().data]
    assert ids[:2] == ["citewise", "citewise-extractive"]
    assert openai_client(server).models.retrieve("citewise-extractive").owned_by == "citewise"


def test_an_answer_carries_its_citations_with_exact_spans(server: Server) -> None:
    reply = openai_client(server).chat.completions.create(
        model="citewise-extractive", messages=[{"role": "user", "content": QUESTION}])
    message = reply.choices[0].message
    assert reply.object == "chat.completion" and reply.choices[0].finish_reason == "stop"
    assert message.role == "assistant" and "[1]" in (message.content or "")
    data = extra(message)
    assert data["mode"] == "extractive" and data["abstained"] is False
    assert data["citations"] and data["sentences"]
    for c in data["citations"]:
        assert {"id", "source", "title", "heading_path", "passage", "quote", "start",
                "end"} <= set(c)
        assert doc_text(server, c["source"])[c["start"]:c["end"]] == c["quote"]
        assert f"[{c['id']}]" in message.content
    # every marker in the text resolves to a citation
    assert {n for s in data["sentences"] for n in s["citations"]} <= \
        {c["id"] for c in data["citations"]}


def test_a_stream_ends_with_the_citations_and_says_what_the_answer_says(server: Server) -> None:
    client = openai_client(server)
    messages = [{"role": "user", "content": QUESTION}]
    whole = client.chat.completions.create(model="citewise", messages=messages)
    chunks = list(client.chat.completions.create(model="citewise", messages=messages,
                                                 stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert content == whole.choices[0].message.content
    last = chunks[-1].choices[0]
    assert last.finish_reason == "stop"
    assert extra(last.delta)["citations"] == extra(whole.choices[0].message)["citations"]
    assert [c.choices[0].finish_reason for c in chunks[:-1]] == [None] * (len(chunks) - 1)


def test_a_follow_up_is_searched_as_a_standalone_question(server: Server) -> None:
    client = openai_client(server)
    first = client.chat.completions.create(
        model="citewise", messages=[{"role": "user", "content": QUESTION}])
    follow = client.chat.completions.create(model="citewise", messages=[
        {"role": "system", "content": "ignored"},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "And how is it treated?"}])
    query = extra(follow.choices[0].message)["query"]
    from app.conversation import rewrite_query, topic_of

    assert query == rewrite_query("And how is it treated?", topic_of(QUESTION))  # as the chat
    assert query == "How is paraneoplastic muscle weakness treated?"
    alone = client.chat.completions.create(
        model="citewise", messages=[{"role": "user", "content": "And how is it treated?"}])
    assert extra(alone.choices[0].message)["query"] == "And how is it treated?"


def test_retrieve_ranks_passages_with_spans_as_the_answers_use_them(server: Server) -> None:
    with http(server) as c:
        body = c.post("/v1/retrieve", json={"query": QUESTION, "k": 3}).json()
        answer = c.post("/v1/chat/completions", json={
            "model": "citewise", "messages": [{"role": "user", "content": QUESTION}],
            "k": 3}).json()
    passages = body["data"]
    assert [p["rank"] for p in passages] == [1, 2, 3]
    assert [p["score"] for p in passages] == sorted((p["score"] for p in passages),
                                                    reverse=True)
    for p in passages:
        assert doc_text(server, p["source"])[p["start"]:p["end"]] == p["text"]
    cited = {c["chunk_id"] for c in answer["choices"][0]["message"]["citewise"]["citations"]}
    assert cited <= {p["chunk_id"] for p in passages}
    with http(server) as c:
        only = c.post("/v1/retrieve", json={"query": QUESTION, "k": 5,
                                            "documents": [passages[0]["source"]]}).json()
    assert {p["source"] for p in only["data"]} == {passages[0]["source"]}


# -- errors, in OpenAI's shape ------------------------------------------------------------------
def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


def test_a_missing_or_wrong_key_is_a_401(server: Server) -> None:
    import openai

    for key in (None, WRONG):
        with http(server, key) as c:
            response = c.post("/v1/chat/completions", json={"model": "citewise", "messages": [
                {"role": "user", "content": QUESTION}]})
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        err = error_of(response)
        assert err["code"] == "invalid_api_key" and "CITEWISE_API_KEYS" in err["message"]
        assert WRONG not in response.text
    with pytest.raises(openai.AuthenticationError):
        openai_client(server, WRONG).models.list()


@pytest.mark.parametrize(("body", "param", "words"), [
    ({"messages": [{"role": "user", "content": "x"}]}, "model", "field required"),
    ({"model": "citewise"}, "messages", "field required"),
    ({"model": "citewise", "messages": []}, "messages", "at least 1"),
    ({"model": "citewise", "messages": [{"role": "bot", "content": "x"}]}, "messages[0].role",
     "'user'"),
    ({"model": "citewise", "messages": [{"role": "user"}, {"role": "assistant",
                                                          "content": "x"}]},
     "messages", "last message must be the user's"),
    ({"model": "citewise", "messages": [{"role": "user", "content": "  "}]},
     "messages[0].content", "empty"),
    ({"model": "citewise", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:,"}}]}]}, "messages[0].content",
     "only text parts"),
    ({"model": "citewise", "messages": [{"role": "user", "content": "x"}], "k": 0}, "k",
     "greater than or equal to 1"),
    ({"model": "citewise", "messages": [{"role": "user", "content": "x"}], "stream": "maybe"},
     "stream", "boolean"),
])
def test_a_malformed_request_is_a_400_naming_the_field(server: Server, body: dict, param: str,
                                                        words: str) -> None:
    with http(server) as c:
        response = c.post("/v1/chat/completions", json=body)
    assert response.status_code == 400, response.text
    err = error_of(response)
    assert err["type"] == "invalid_request_error" and err["param"] == param
    assert err["message"].startswith(param) and words in err["message"].lower()


def test_bad_json_an_unknown_model_a_huge_body_and_an_unknown_route(server: Server) -> None:
    with http(server) as c:
        bad = c.post("/v1/chat/completions", content=b'{"model": ',
                     headers={"content-type": "application/json"})
        model = c.post("/v1/chat/completions", json={
            "model": "gpt-4o", "messages": [{"role": "user", "content": QUESTION}]})
        huge = c.post("/v1/chat/completions", content=b'{"x": "' + b"y" * 2_000_000 + b'"}',
                      headers={"content-type": "application/json"})
        route = c.get("/v1/engines")
        retrieve = c.post("/v1/retrieve", json={"query": ""})
        page = c.get("/")
    assert bad.status_code == 400 and error_of(bad)["code"] == "invalid_json"
    assert model.status_code == 404 and error_of(model)["code"] == "model_not_found"
    assert "citewise-extractive" in error_of(model)["message"]
    assert huge.status_code == 413 and "at most 1 MB" in error_of(huge)["message"]
    assert route.status_code == 404 and error_of(route)["code"] == "unknown_url"
    assert retrieve.status_code == 400 and error_of(retrieve)["param"] == "query"
    # the page is on the same server, with its own safety headers
    assert page.status_code == 200 and b"<!doctype html>" in page.content[:200].lower()
    assert "default-src 'self'" in page.headers["content-security-policy"]


# -- history on request, keys never logged ------------------------------------------------------
def api_turns(server: Server) -> list[tuple[str, str]]:
    path = server.index / "history.sqlite3"
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        return db.execute("SELECT c.origin, t.question FROM turns t JOIN conversations c ON "
                          "c.id = t.conversation_id WHERE c.origin = 'api' ORDER BY t.id"
                          ).fetchall()


def test_api_turns_are_stored_only_when_asked(server: Server) -> None:
    client = openai_client(server)
    question = "How common is LEMS in small cell lung cancer?"
    client.chat.completions.create(model="citewise",
                                   messages=[{"role": "user", "content": question}])
    assert ("api", question) not in api_turns(server)
    stored = client.chat.completions.create(
        model="citewise", messages=[{"role": "user", "content": question}],
        store=True)
    conversation = extra(stored.choices[0].message)["conversation_id"]
    assert ("api", question) in api_turns(server)
    chunks = list(client.chat.completions.create(
        model="citewise", stream=True, messages=[{"role": "user", "content": QUESTION}],
        store=True, metadata={"conversation_id": conversation}))
    assert extra(chunks[-1].choices[0].delta)["conversation_id"] == conversation
    with sqlite3.connect(server.index / "history.sqlite3") as db:
        rows = db.execute("SELECT question FROM turns WHERE conversation_id = ? ORDER BY seq",
                          (conversation,)).fetchall()
    assert rows == [(question,), (QUESTION,)]


def test_no_key_reaches_the_log(server: Server) -> None:
    with http(server, WRONG) as c:  # a wrong key, and one that makes the server fail
        c.get("/v1/models")
    with http(server) as c:
        assert c.get("/v1/status").json()["concurrency"] >= 1
    log = server.log.read_text()
    assert "citewise is running" in log
    for key in (*KEYS, WRONG):
        assert key not in log
