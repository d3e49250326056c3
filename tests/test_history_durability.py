"""The chat history survives a SIGKILL: a real `citewise serve` (a subprocess; the fake
embedder, `tests.child`) answers a burst of turns from several clients at once and is
killed with SIGKILL while turns are being answered. The database then opens and is
intact, every turn a client saw completed is in it, and no partial turn is: each stored
turn is whole (its answer, sentences and citations, whose spans still match the
documents), and each conversation holds its client's questions in order, without gaps.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.config import Settings
from app.history import History
from app.service import Citewise
from tests.conftest import DEFAULT_SOURCES, QUESTION
from tests.fakes import HashingEmbedder
from tests.helpers import free_port, popen_interruptible, wait_until_serving
from tests.ui_server import http_get

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
CLIENTS = 4
KILL_AFTER = 10  # completed turns (of all clients) before the SIGKILL
QUESTIONS = (QUESTION, "And how is it treated?", "How common is LEMS in small cell lung "
             "cancer?", "Which drug improved the neuromyopathy in the sicca syndrome case?")


def question(client: int, n: int) -> str:
    return f"C{client} T{n}: {QUESTIONS[n % len(QUESTIONS)]}"


def test_sigkill_during_a_burst_of_turns_keeps_every_completed_turn_and_no_partial_one(
        tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(DEFAULT_SOURCES, sources)
    settings = Settings(sources_dir=sources, index_dir=tmp_path / "index",
                        answer_mode="extractive", _env_file=None)
    service = Citewise(settings, HashingEmbedder())
    service.ingest()
    port = free_port()
    env = {**os.environ, "CITEWISE_SOURCES_DIR": str(sources),
           "CITEWISE_INDEX_DIR": str(settings.index_dir),
           "CITEWISE_FEEDBACK_DIR": str(tmp_path / "feedback"),
           "CITEWISE_ANSWER_MODE": "extractive", "CITEWISE_PORT": str(port),
           "CITEWISE_ABSTAIN_THRESHOLD": "-1.4",  # the fake embedder: every answer cites
           "PYTHONPATH": str(REPO)}
    server = popen_interruptible([sys.executable, "-m", "tests.child", "cli", "serve"],
                                 cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)

    completed: dict[int, list[str]] = {c: [] for c in range(CLIENTS)}
    wrong: list[str] = []
    done = threading.Event()
    lock = threading.Lock()
    try:
        wait_until_serving(server)
        url = f"http://127.0.0.1:{port}"
        assert http_get(url + "/")[0] == 200
        from gradio_client import Client  # tests.ui_server turned telemetry off

        def chat(c: int) -> None:
            client = Client(url, verbose=False, download_files=False)
            n = 0
            while not done.is_set():
                try:
                    job = client.submit(question(c, n), 5, [], "extractive", api_name="/chat")
                    transcript, _, _ = job.result(timeout=60)
                except Exception:  # noqa: BLE001  the server was killed
                    return
                with lock:
                    if 'class="cw-cite"' not in transcript:  # not a whole, cited answer
                        wrong.append(transcript)
                        done.set()
                        return
                    completed[c].append(question(c, n))
                    if sum(map(len, completed.values())) >= KILL_AFTER:
                        done.set()
                n += 1

        threads = [threading.Thread(target=chat, args=(c,), daemon=True)
                   for c in range(CLIENTS)]
        for t in threads:
            t.start()
        assert done.wait(180), "the burst of turns did not complete in time"
        server.send_signal(signal.SIGKILL)  # the other clients' turns are in flight
        server.wait(timeout=30)
        for t in threads:
            t.join(timeout=90)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
    assert server.returncode == -signal.SIGKILL
    assert wrong == []

    path = settings.history_file
    assert path.exists()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with History(path) as history:
        stored: dict[int, list[str]] = {}
        for conv in history.conversations():
            turns = history.turns(conv.id)
            client = int(turns[0].question.split()[0][1:])
            assert client not in stored  # one conversation per client session
            assert conv.title == question(client, 0)  # titled by its first question
            assert [t.seq for t in turns] == list(range(1, len(turns) + 1))
            for t in turns:  # whole: the answer and its citations, spans intact
                a = t.answer
                assert a is not None and t.error is None and not a.abstained
                assert a.sentences and a.citations and a.question == t.query
                for cite in a.citations:
                    text = service.document_text(cite.doc_id)
                    assert text is not None and text[cite.start:cite.end] == cite.quote
            stored[client] = [t.question for t in turns]
    print(f"turns completed by clients {sum(map(len, completed.values()))}, stored "
          f"{sum(map(len, stored.values()))} in {len(stored)} conversations")
    assert sum(map(len, completed.values())) >= KILL_AFTER
    for c in range(CLIENTS):
        got, saw = stored.get(c, []), completed[c]
        # Every turn the client saw completed is there, in order; at most the one it was
        # waiting for when the server died is there too (stored just before it was sent).
        assert got[:len(saw)] == saw
        assert len(got) - len(saw) in (0, 1)
        assert got == [question(c, n) for n in range(len(got))]
