"""The launched web UI on 127.0.0.1, through `gradio_client` and plain HTTP: cited answers,
follow-ups, upload / list / answer / delete, feedback and export, 20 concurrent clients,
re-ingest while questions are asked, path-traversal probes, the login, and generative
answers from a fake language model.

Uses the real packaged MiniLM model (marked slow; still run by `make test`).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from app.config import Settings
from app.service import Citewise
from tests.conftest import DEFAULT_SOURCES, QUESTION
from tests.fakes import HashingEmbedder, ScriptedGenerator, numbered_sources
from tests.ui_samples import NEW_DOC
from tests.ui_server import GOLD_QUOTE, Served, http_get, running_ui

if TYPE_CHECKING:
    from gradio_client import Client

pytestmark = pytest.mark.slow

SECRET = "CITEWISE_SENTINEL_7f3a9c=do-not-serve"
CHAT = {"api_name": "/chat"}


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("ui")
    (root / ".env").write_text(f"{SECRET}\n")  # the server's working folder holds a .env
    cwd = os.getcwd()
    os.chdir(root)
    try:
        with running_ui(root) as served:
            yield served
    finally:
        os.chdir(cwd)


def client(ui: Served, **kwargs: object) -> Client:
    from gradio_client import Client  # after tests.ui_server turned telemetry off

    kwargs.setdefault("download_files", str(ui.root / "downloads"))
    return Client(ui.url, verbose=False, **kwargs)  # type: ignore[arg-type]


def ask(c: Client, question: str, k: int = 5, doc_ids: list[str] | None = None
        ) -> tuple[str, str]:
    transcript, sources, _ = c.predict(question, k, doc_ids or [], "extractive", **CHAT)
    return transcript, sources


def test_ask_streams_a_cited_answer(ui: Served) -> None:
    c = client(ui)
    job = c.submit(QUESTION, 5, [], "extractive", **CHAT)
    transcript, sources, cleared = job.result(timeout=60)
    assert len(job.outputs()) > 2  # the question, then the answer growing, then complete
    assert 'data-kind="answer"' in transcript and 'class="cw-cite"' in transcript
    assert 'href="#cw-src-1-1"' in transcript and "antibody-mediated autoimmunity" in transcript
    assert 'id="cw-src-1-1"' in sources and "004_5e456227b6f932b4.txt" in sources
    assert f'<mark class="cw-quote">{GOLD_QUOTE}' in sources  # the exact sentence, highlighted
    assert cleared == ""


def test_follow_up_is_searched_with_the_previous_topic(ui: Served) -> None:
    c = client(ui)
    ask(c, QUESTION)
    transcript, _ = ask(c, "And how is it treated?")
    assert "searched for: How is paraneoplastic muscle weakness treated?" in transcript
    assert transcript.count('class="cw-msg cw-user"') == 2
    fresh, _ = ask(client(ui), "And how is it treated?")  # another session: no history
    assert "searched for" not in fresh


def test_off_topic_question_abstains(ui: Served) -> None:
    transcript, sources = ask(client(ui), "What is the capital of Australia?")
    assert 'data-kind="abstain"' in transcript and "cw-cite" not in transcript
    assert "cw-source-group" not in sources


def test_settings_choose_documents_and_top_k(ui: Served) -> None:
    transcript, sources = ask(client(ui), QUESTION, k=2, doc_ids=["000_ca9eb5d6de5c83e8.txt"])
    assert "004_5e456227b6f932b4.txt" not in sources
    assert "000_ca9eb5d6de5c83e8.txt" in sources or 'data-kind="abstain"' in transcript


def test_upload_list_answer_delete(ui: Served, tmp_path: Path) -> None:
    from gradio_client import handle_file

    c = client(ui)
    doc = tmp_path / "thymoma.txt"
    doc.write_text(NEW_DOC)
    status, table, *_ = c.predict([handle_file(str(doc))], api_name="/upload_documents")
    assert 'data-ok="true"' in status and "Added thymoma.txt" in status
    assert "thymoma.txt" in table and "Thymoma and myasthenia gravis" in table
    listed = {d["doc_id"]: d for d in c.predict(api_name="/documents")}
    assert listed["thymoma.txt"]["chunks"] >= 1
    assert "Thymectomy is the usual treatment" in c.predict("thymoma.txt",
                                                          api_name="/view_document")

    question = "Is thymectomy the usual treatment for thymoma with myasthenia gravis?"
    _, sources = ask(c, question)
    assert "thymoma.txt" in sources

    status, table, *_ = c.predict("thymoma.txt", api_name="/delete_document")
    assert 'data-ok="true"' in status and "Deleted thymoma.txt" in status
    assert "thymoma.txt" not in table
    assert "thymoma.txt" not in {d["doc_id"] for d in c.predict(api_name="/documents")}
    assert not (ui.sources / "thymoma.txt").exists()
    _, sources = ask(client(ui), question)  # a new session: only this answer's sources
    assert "thymoma.txt" not in sources


def test_bad_uploads_get_one_reason_each(ui: Served, tmp_path: Path) -> None:
    from gradio_client import handle_file

    (tmp_path / "tool.exe").write_bytes(b"MZ\x90\x00")
    (tmp_path / "empty.txt").write_text("")
    status, *_ = client(ui).predict([handle_file(str(tmp_path / "tool.exe")),
                                     handle_file(str(tmp_path / "empty.txt"))],
                                    api_name="/upload_documents")
    assert 'data-ok="false"' in status and "Nothing was added" in status
    assert "<b>tool.exe</b>: unsupported file type" in status
    assert "<b>empty.txt</b>: the file is empty" in status
    assert not (ui.sources / "tool.exe").exists()


def test_feedback_and_export(ui: Served) -> None:
    c = client(ui)
    ask(c, QUESTION)
    status, comment = c.predict("The passage is right", api_name="/rate_down")
    assert "recorded" in status and comment == ""
    lines = (ui.service.settings.feedback_dir / "feedback.jsonl").read_text().splitlines()
    record = json.loads(lines[-1])
    assert record["rating"] == "down" and record["comment"] == "The passage is right"
    assert record["question"] == QUESTION and record["citations"][0]["quote"].startswith(
        GOLD_QUOTE)
    update = c.predict(api_name="/export_conversation")  # the file, and "show it"
    assert update["visible"] is True
    exported = Path(update["value"])
    text = exported.read_text()
    assert f"## Q1. {QUESTION}" in text and "\\[1\\]" in text and GOLD_QUOTE in text


def test_twenty_concurrent_clients_all_get_cited_answers(ui: Served) -> None:
    n = 20
    clients = [client(ui) for _ in range(n)]
    start = threading.Barrier(n)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def run(c: Client) -> None:
        start.wait()
        t0 = time.perf_counter()
        try:
            transcript, sources = ask(c, QUESTION)
            ok = 'class="cw-cite"' in transcript and GOLD_QUOTE in sources
        except Exception as exc:  # noqa: BLE001  every failure is counted
            with lock:
                errors.append(repr(exc))
            return
        with lock:
            latencies.append(time.perf_counter() - t0)
            if not ok:
                errors.append("answer without citations")

    threads = [threading.Thread(target=run, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    latencies.sort()
    p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)] if latencies else float("nan")
    print(f"\n20 concurrent clients: answered {len(latencies)}/{n}, errors {len(errors)}, "
          f"p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"max {latencies[-1] * 1000:.0f} ms (concurrency limit "
          f"{ui.service.settings.concurrency_limit})")
    assert errors == [] and len(latencies) == n


def test_reingest_from_the_ui_does_not_break_questions(ui: Served) -> None:
    (ui.sources / "thymoma-notes.txt").write_text(NEW_DOC)
    askers = [client(ui) for _ in range(4)]
    done = threading.Event()
    answered: list[bool] = []
    errors: list[str] = []

    def keep_asking(c: Client) -> None:
        while not done.is_set() or len(answered) < 8:
            try:
                transcript, _ = ask(c, QUESTION)
                answered.append('class="cw-cite"' in transcript)
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))
                return

    threads = [threading.Thread(target=keep_asking, args=(c,)) for c in askers]
    for t in threads:
        t.start()
    try:
        status, table, *_ = client(ui).predict(api_name="/reingest")
    finally:
        done.set()
        for t in threads:
            t.join(timeout=120)
        (ui.sources / "thymoma-notes.txt").unlink()
        ui.service.ingest()
    assert 'data-ok="true"' in status and "1 added" in status and "thymoma-notes.txt" in table
    assert errors == [] and answered and all(answered)


PROBES = [
    "/file=../../../../etc/passwd",
    "/gradio_api/file=/etc/passwd",
    "/gradio_api/file=../../../../../../etc/passwd",
    "/gradio_api/file=%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/gradio_api/file=..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "/gradio_api/file=%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    "/gradio_api/file=%2Fetc%2Fpasswd",
    "/file=/proc/self/environ",
    "/.env", "/file=.env", "/gradio_api/file=.env", "/gradio_api/file=./.env",
    "/gradio_api/file={root}/.env", "/gradio_api/file=%2F{root_rel}%2F.env",
    "/file=index/manifest.sqlite", "/gradio_api/file={root}/index/manifest.sqlite",
    "/gradio_api/file={root}/sources/004_5e456227b6f932b4.txt",
    "/gradio_api/file=sources/004_5e456227b6f932b4.txt",
    "/static/../.env", "/assets/../../.env", "/assets/..%2f..%2f.env",
    "/gradio_api/file=http://example.invalid/x.png",
]


def test_path_traversal_probes_return_no_file_content(ui: Served) -> None:
    passwd = Path("/etc/passwd").read_bytes()[:20]
    doc = (ui.sources / "004_5e456227b6f932b4.txt").read_bytes()[:60]
    root = str(ui.root)
    for probe in PROBES:
        path = probe.format(root=root, root_rel=root.lstrip("/").replace("/", "%2F"))
        status, body = http_get(ui.url + path)
        for secret in (SECRET.encode(), passwd, doc, b"SQLite format", b"PATH="):
            assert secret not in body, f"{path} returned file content ({status})"
        assert status in (400, 403, 404) or body.lstrip().startswith(b"<!"), (path, status)
    # The probe can see files: what the app itself created is served.
    c = client(ui, download_files=False)
    ask(c, QUESTION)
    cached = c.predict(api_name="/export_conversation")["value"]
    status, body = http_get(f"{ui.url}/gradio_api/file={cached['path']}")
    assert status == 200 and b"# citewise conversation" in body


def test_binds_to_loopback_with_safe_options(ui: Served) -> None:
    demo = ui.demo
    assert demo.server_name == "127.0.0.1" and demo.share is False
    assert demo.allowed_paths == []
    status, body = http_get(ui.url + "/")
    assert status == 200
    headers = http_headers(ui.url + "/")
    assert "default-src 'self'" in headers["content-security-policy"]


def http_headers(url: str) -> dict[str, str]:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        return {k.lower(): v for k, v in response.headers.items()}


def test_login_when_configured(tmp_path: Path) -> None:
    from gradio_client import Client

    with running_ui(tmp_path, embedder=HashingEmbedder(), auth_username="ann",
                    auth_password="s3cret-pw") as served:
        status, body = http_get(served.url + "/config")
        assert status == 401 and b"004_5e456227b6f932b4" not in body
        with pytest.raises(Exception):  # noqa: B017  whatever the client raises, no access
            Client(served.url, verbose=False)
        c = Client(served.url, verbose=False, auth=("ann", "s3cret-pw"))
        assert any(d["doc_id"] == "004_5e456227b6f932b4.txt"
                   for d in c.predict(api_name="/documents"))


def test_citewise_serve_prints_the_address_and_serves_it(tmp_path: Path) -> None:
    """`citewise serve` as `make run` starts it: the address it prints answers questions,
    and Ctrl-C stops it cleanly."""
    import signal
    import subprocess
    import sys

    from tests.helpers import free_port, popen_interruptible, wait_until_serving
    from tests.ui_server import real_embedder

    sources = tmp_path / "sources"
    shutil.copytree(DEFAULT_SOURCES, sources)
    settings = Settings(sources_dir=sources, index_dir=tmp_path / "index", _env_file=None)
    Citewise(settings, real_embedder()).ingest()
    port = free_port()
    env = {**os.environ, "CITEWISE_SOURCES_DIR": str(sources),
           "CITEWISE_INDEX_DIR": str(tmp_path / "index"),
           "CITEWISE_FEEDBACK_DIR": str(tmp_path / "feedback")}
    # Started with SIGINT at its default even when this test run ignores it (started in
    # the background by a script): else it inherits the ignored SIGINT and never stops.
    server = popen_interruptible(
        [str(Path(sys.executable).parent / "citewise"), "serve", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    try:
        seen = wait_until_serving(server)
        address = f"http://127.0.0.1:{port}"
        assert f"open {address} in a browser" in "".join(seen)
        assert http_get(address + "/")[0] == 200
        transcript, sources_html = ask(client_at(address, tmp_path), QUESTION)
        assert 'class="cw-cite"' in transcript and GOLD_QUOTE in sources_html
    finally:
        server.send_signal(signal.SIGINT)
        try:
            code = server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert code == 0


def client_at(url: str, folder: Path) -> Client:
    from gradio_client import Client

    return Client(url, verbose=False, download_files=str(folder / "downloads"))


# -- generative answers, with a fake language model ------------------------------------------
INVENTED = "Paraneoplastic muscle weakness is cured by drinking seawater for 40 days."


def invents_a_second_sentence(messages: list[dict]) -> str:
    evidence = numbered_sources(messages)
    if not evidence:  # a follow-up to rewrite (not what the rules would say)
        return "Which drugs treat Lambert-Eaton myasthenic syndrome?"
    return f"{evidence[0]} [1] <img src=x onerror=\"window.__pwned=1\"> {INVENTED} [2]"


@pytest.fixture(scope="module")
def generative_ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with running_ui(tmp_path_factory.mktemp("generative-ui"), embedder=HashingEmbedder(),
                    generator=ScriptedGenerator(invents_a_second_sentence),
                    answer_mode="generative") as served:
        yield served


def test_generative_answer_streams_its_draft_then_verified_sentences(
        generative_ui: Served) -> None:
    c = client(generative_ui)
    job = c.submit(QUESTION, 5, [], "generative", **CHAT)
    transcript, sources, _ = job.result(timeout=60)
    drafts = [out[0] for out in job.outputs()
              if isinstance(out[0], str) and 'data-kind="draft"' in out[0]]
    assert drafts and "checking against the sources" in drafts[-1]
    assert "&lt;img src=x onerror=" in drafts[-1] and "<img" not in drafts[-1]
    assert transcript.count('data-supported="true"') == 1 and 'class="cw-cite"' in transcript
    assert transcript.count('data-supported="false"') == 1 and INVENTED in transcript
    assert "not supported by the sources — removed" in transcript and "<img" not in transcript
    assert 'id="cw-src-1-1"' in sources


def test_generative_follow_up_is_rewritten_by_the_model(generative_ui: Served) -> None:
    c = client(generative_ui)
    c.predict(QUESTION, 5, [], "generative", **CHAT)
    transcript, _, _ = c.predict("And how is it treated?", 5, [], "generative", **CHAT)
    assert "searched for: Which drugs treat Lambert-Eaton myasthenic syndrome?" in transcript


def test_default_mode_and_a_model_server_that_does_not_answer(tmp_path: Path) -> None:
    from gradio_client import Client

    from tests.helpers import free_port

    dead = f"http://127.0.0.1:{free_port()}/v1"
    with running_ui(tmp_path, embedder=HashingEmbedder(), llm_base_url=dead,
                    answer_mode="generative") as served:
        c = Client(served.url, verbose=False)
        transcript, _, _ = c.predict(QUESTION, 5, [], None, **CHAT)  # the default mode
        assert 'data-kind="error"' in transcript
        assert f"Cannot reach the language model server at {dead}" in transcript
        transcript, _, _ = c.predict(QUESTION, 5, [], "extractive", **CHAT)
        assert transcript.count('data-kind="answer"') == 1
