"""`citewise mcp`, driven as an MCP client would: started as a subprocess by the mcp SDK's
own stdio client, on a small index built with the fake embedder (which the child uses
too). Tools are listed and called, a resource is read, the payloads are checked against
the documents' text, and stdout is checked to carry nothing but the protocol."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import mcp_types as types
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from app.config import Settings
from app.environment import QUIET_ENV
from app.service import Citewise
from tests.conftest import QUESTION, ROOT
from tests.fakes import HashingEmbedder
from tests.pdf_samples import make_pdf, page_texts

# The real CLI in a child process, with the fake embedder and a scripted language model
# (`tests.fakes`); with MCP_TEST_NOISE set, every query embedding also writes to stdout
# from Python and from C (as llama.cpp does), and logs.
CHILD = """
import logging, os, sys
import app.llm.backends, app.service
from tests.fakes import HashingEmbedder, ScriptedGenerator

class Noisy(HashingEmbedder):
    def embed_query(self, text):
        print("NOISE from print")  # not flushed: it must not wait in a stdout buffer
        os.write(1, b"NOISE from C\\n")
        logging.getLogger("noise").warning("NOISE from logging")
        return super().embed_query(text)

embedder = Noisy if os.environ.get("MCP_TEST_NOISE") else HashingEmbedder
app.service.default_embedder = lambda settings: embedder()
app.llm.backends.make_generator = lambda settings: ScriptedGenerator()
from app.cli import main
sys.argv = ["citewise", "mcp", *sys.argv[1:]]
main()
"""
TIMEOUT = 60  # s for a whole session; the calls themselves take well under a second


def child_env(tmp_path: Path, sources: Path, **extra: str) -> dict[str, str]:
    return {**QUIET_ENV, "PYTHONPATH": str(ROOT), "CITEWISE_SOURCES_DIR": str(sources),
            "CITEWISE_INDEX_DIR": str(tmp_path / "index"), "CITEWISE_ANSWER_MODE": "extractive",
            **extra}


NESTED = "more notes/LEMS treatment.md"  # an id with a space and a slash, for its URI


@pytest.fixture
def indexed(tmp_path: Path, sources: Path) -> Citewise:
    (sources / NESTED).parent.mkdir()
    (sources / NESTED).write_text(
        "# LEMS treatment\n\n3,4-Diaminopyridine improves muscle strength in Lambert-Eaton "
        "myasthenic syndrome by prolonging the presynaptic action potential.\n",
        encoding="utf-8")
    (sources / "lems.pdf").write_bytes(make_pdf())  # four pages: passages carry theirs
    service = Citewise(Settings(sources_dir=sources, index_dir=tmp_path / "index",
                                _env_file=None), HashingEmbedder())
    service.ingest()
    return service


def session_run(env: dict[str, str], cwd: Path, body, *args: str) -> Any:
    """Start `citewise mcp ARGS` with the SDK's stdio client, run `body(session)` on an
    initialized session; return its result. Stream errors (a line on stdout that is not
    a protocol message) are collected and must be none."""
    params = StdioServerParameters(command=sys.executable, args=["-c", CHILD, *args],
                                   env=env, cwd=cwd)
    stream_errors: list[Exception] = []

    async def on_message(message: Any) -> None:
        if isinstance(message, Exception):
            stream_errors.append(message)

    async def main() -> Any:
        with anyio.fail_after(TIMEOUT), (cwd / "stderr.log").open("w") as errlog:
            async with (stdio_client(params, errlog=errlog) as (read, write),
                        ClientSession(read, write, message_handler=on_message) as s):
                await s.initialize()
                return await body(s)

    result = anyio.run(main)
    assert stream_errors == []
    return result


def text_json(result: types.CallToolResult) -> Any:
    """The JSON of a tool result's text content (which must match its structured one)."""
    [content] = result.content
    assert isinstance(content, types.TextContent)
    return json.loads(content.text)


def test_tools_resources_and_payloads(indexed: Citewise, tmp_path: Path,
                                      sources: Path) -> None:
    doc_ids = sorted(r.doc_id for r in indexed.documents())

    async def body(s: ClientSession) -> dict[str, Any]:
        tools = await s.list_tools()
        resources = await s.list_resources()
        templates = await s.list_resource_templates()
        search = await s.call_tool("search", {"query": "voltage-gated calcium channels",
                                              "k": 3})
        only = await s.call_tool("search", {"query": "muscle weakness", "k": 10,
                                            "documents": [doc_ids[1]]})
        ask = await s.call_tool("ask", {"question": QUESTION})
        listed = await s.call_tool("documents", {})
        pdf = await s.call_tool("search", {"query": "amifampridine muscle strength", "k": 2,
                                           "documents": ["lems.pdf"]})
        pdf_ask = await s.call_tool("ask", {"question": "How does amifampridine improve "
                                                        "muscle strength?",
                                            "documents": ["lems.pdf"]})
        uri = next(str(r.uri) for r in resources.resources if r.name == NESTED)
        read = await s.read_resource(uri)
        return {"tools": tools, "resources": resources, "templates": templates,
                "search": search, "only": only, "ask": ask, "listed": listed, "uri": uri,
                "read": read, "pdf": pdf, "pdf_ask": pdf_ask}

    got = session_run(child_env(tmp_path, sources), tmp_path, body)

    tools = {t.name: t for t in got["tools"].tools}
    assert set(tools) == {"search", "ask", "documents"}
    assert set(tools["search"].input_schema["properties"]) == {"query", "k", "documents"}
    assert tools["search"].input_schema["required"] == ["query"]
    assert tools["ask"].input_schema["required"] == ["question"]
    for tool in tools.values():  # structured output: each publishes its schema
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
    assert "passages" in tools["search"].output_schema["properties"]

    texts = {d: indexed.document_text(d) for d in doc_ids}
    search = got["search"]
    assert not search.is_error
    payload = search.structured_content
    assert payload == text_json(search)
    passages = payload["passages"]
    assert payload["k"] == 3 and len(passages) == 3
    assert [p["rank"] for p in passages] == [1, 2, 3]
    assert [p["score"] for p in passages] == sorted((p["score"] for p in passages),
                                                    reverse=True)
    for p in passages:
        assert texts[p["source"]][p["start"]:p["end"]] == p["text"]
        assert p["page"] is None or p["source"] == "lems.pdf"  # text files have no pages
        assert p["title"] and isinstance(p["heading_path"], list)
    retrieved = indexed.index.retriever().search("voltage-gated calcium channels", 3)
    assert [p["chunk_id"] for p in passages] == [h.chunk.id for h in retrieved]

    only = got["only"].structured_content["passages"]
    assert only and {p["source"] for p in only} == {doc_ids[1]}

    ask = got["ask"]
    assert not ask.is_error
    answer = ask.structured_content
    assert answer == text_json(ask)
    assert answer["question"] == QUESTION and answer["abstained"] is False
    assert answer["mode"] == "extractive" and answer["citations"]
    for c in answer["citations"]:
        text = texts[c["source"]]
        assert text[c["start"]:c["end"]] == c["quote"]
        assert c["quote"] in c["passage"]
        assert f"[{c['id']}]" in answer["answer"]
    cited = {n for s in answer["sentences"] for n in s["citations"]}
    assert cited == {c["id"] for c in answer["citations"]}
    assert all(s["supported"] is None for s in answer["sentences"])  # verbatim sentences
    assert {k: v for k, v in answer.items() if k != "timings"} == _expected_answer(indexed)
    assert "retrieve_ms" in answer["timings"]

    listed = got["listed"].structured_content["documents"]
    assert [d["id"] for d in listed] == doc_ids
    assert {str(r.uri) for r in got["resources"].resources} == {d["uri"] for d in listed}
    assert [str(t.uri_template) for t in got["templates"].resource_templates] == \
        ["citewise://documents/{doc_id}"]
    assert got["uri"] == "citewise://documents/more%20notes%2FLEMS%20treatment.md"
    pages = page_texts(make_pdf())
    for p in got["pdf"].structured_content["passages"]:  # a PDF passage knows its pages
        assert 1 <= p["page"] <= p["page_end"] <= len(pages)
        assert " ".join(p["text"].split()[:4]) in " ".join(pages[p["page"] - 1].split())
    cited = got["pdf_ask"].structured_content["citations"]
    assert cited and any(c["page"] == 3 for c in cited)
    for c in cited:
        assert texts["lems.pdf"][c["start"]:c["end"]] == c["quote"]
    [content] = got["read"].contents
    assert content.text == texts[NESTED] and content.mime_type == "text/plain"


def _expected_answer(service: Citewise) -> dict[str, Any]:
    """What `citewise ask --json` says to the question, in the parts `ask` returns."""
    full = service.ask(QUESTION).to_json()
    keep = ("question", "answer", "abstained", "mode", "generator", "note", "sentences",
            "citations")
    return {k: full[k] for k in keep}


def test_errors_are_one_sentence_tool_errors(indexed: Citewise, tmp_path: Path,
                                             sources: Path) -> None:
    async def body(s: ClientSession) -> dict[str, Any]:
        out: dict[str, Any] = {}
        out["empty"] = await s.call_tool("search", {"query": "   "})
        out["empty_question"] = await s.call_tool("ask", {"question": ""})
        out["unknown"] = await s.call_tool("search", {"query": "weakness",
                                                      "documents": ["no/such.txt"]})
        out["k"] = await s.call_tool("search", {"query": "weakness", "k": 0})
        out["k_type"] = await s.call_tool("search", {"query": "weakness", "k": "five"})
        out["missing"] = await s.call_tool("ask", {})
        try:
            await s.read_resource("citewise://documents/no%2Fsuch.txt")
        except Exception as exc:  # noqa: BLE001 - the protocol error is what we check
            out["resource"] = exc
        out["after"] = await s.call_tool("search", {"query": "weakness", "k": 1})
        return out

    got = session_run(child_env(tmp_path, sources), tmp_path, body)
    for name, expected in (("empty", "The query is empty"),
                           ("empty_question", "The question is empty"),
                           ("unknown", "Unknown document id 'no/such.txt'"),
                           ("k", "k is 0: ask for 1 to 100 passages."),
                           ("k_type", "`k`: Input should be a valid integer"),
                           ("missing", "`question` is required: see its input schema.")):
        result = got[name]
        assert result.is_error, name
        [content] = result.content
        assert expected in content.text, (name, content.text)
        assert "Traceback" not in content.text and "\n" not in content.text  # one line
    assert "No indexed document 'no/such.txt'" in str(got["resource"])
    assert not got["after"].is_error  # the server goes on after each mistake


def test_no_index_says_run_ingest(tmp_path: Path, sources: Path) -> None:
    async def body(s: ClientSession) -> tuple[Any, Any, Any]:
        return (await s.call_tool("search", {"query": "weakness"}),
                await s.call_tool("ask", {"question": QUESTION}),
                await s.list_resources())

    search, ask, resources = session_run(child_env(tmp_path, sources), tmp_path, body)
    for result in (search, ask):
        assert result.is_error
        assert "run `citewise ingest` first" in result.content[0].text
    assert resources.resources == []
    log = (tmp_path / "stderr.log").read_text()
    assert f"citewise mcp: index {tmp_path / 'index'}, sources {sources}" in log


def test_generative_ask_reports_its_draft_as_progress(indexed: Citewise, tmp_path: Path,
                                                      sources: Path) -> None:
    progress: list[tuple[float, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))

    async def body(s: ClientSession) -> types.CallToolResult:
        return await s.call_tool("ask", {"question": QUESTION}, progress_callback=on_progress)

    result = session_run(child_env(tmp_path, sources), tmp_path, body, "--mode", "generative")
    answer = result.structured_content
    assert not result.is_error and answer["mode"] == "generative"
    assert answer["generator"] == "scripted" and not answer["abstained"]
    assert any(s["supported"] is True for s in answer["sentences"])
    texts = {d: indexed.document_text(d) for d in (c["source"] for c in answer["citations"])}
    for c in answer["citations"]:
        assert texts[c["source"]][c["start"]:c["end"]] == c["quote"]
    assert progress and all(m and m.startswith("Draft, being checked: ") for _, m in progress)
    assert [v for v, _ in progress] == sorted(v for v, _ in progress)


def test_stdout_carries_only_the_protocol(indexed: Citewise, tmp_path: Path,
                                          sources: Path) -> None:
    """A raw client: every line the server writes to stdout is a JSON-RPC message, while
    prints, C-level writes and logging during a call (and the server's own start-up
    messages) land on stderr."""
    requests = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": types.LATEST_PROTOCOL_VERSION, "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "search", "arguments": {"query": "calcium channels", "k": 2}}},
    ]
    env = {**os.environ, **child_env(tmp_path, sources, MCP_TEST_NOISE="1")}
    env.pop("PYTHONUNBUFFERED", None)  # an MCP client does not set it: stdout is buffered
    with subprocess.Popen([sys.executable, "-c", CHILD], cwd=tmp_path, env=env,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as child:
        assert child.stdin is not None and child.stdout is not None
        lines = []
        for request in requests:
            child.stdin.write((json.dumps(request) + "\n").encode())
            child.stdin.flush()
            if "id" in request:  # wait for its answer before the next request
                lines.append(child.stdout.readline())
        child.stdin.close()
        lines += child.stdout.read().splitlines(keepends=True)
        stderr = child.stderr.read().decode() if child.stderr else ""
        assert child.wait(timeout=TIMEOUT) == 0, stderr
    messages = [json.loads(line) for line in lines if line.strip()]
    assert all(m.get("jsonrpc") == "2.0" for m in messages)
    call = next(m for m in messages if m.get("id") == 2)
    assert len(call["result"]["structuredContent"]["passages"]) == 2
    for noise in ("NOISE from print", "NOISE from C", "NOISE from logging"):
        assert noise in stderr, noise


def test_help_does_not_import_mcp(tmp_path: Path) -> None:
    code = ("import sys; from app.cli import cli\n"
            "try:\n    cli.main(['--help'], prog_name='citewise')\n"
            "except SystemExit:\n    pass\n"
            "print('IMPORTED' if 'mcp' in sys.modules else 'NOT IMPORTED')")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert "  mcp " in out.stdout and out.stdout.strip().endswith("NOT IMPORTED")
