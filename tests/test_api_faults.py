"""The API under load and faults, on a server in this process (`tests.ui_server`, the same
`app.api.server.serve` as `citewise serve`) with one answer slot and one queue place and a
slow scripted language model: a client that goes away mid-stream frees its slot and the
model stops being read, a full queue is a 429 with Retry-After, generative drafts stream
beside the verified content, a model failing mid-stream is an error event. Plus the pure
parts: the key check, the start-up exposure check, the slots."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.api.auth import KeyCheck, exposure_check
from app.api.slots import Cancel, QueueFull, Slots
from app.config import Settings
from ingest.errors import ConfigError, GeneratorError
from tests.conftest import QUESTION
from tests.fakes import HashingEmbedder, ScriptedGenerator
from tests.helpers import wait_for
from tests.ui_server import Served, running_ui


class SlowModel(ScriptedGenerator):
    """A faithful scripted model (it copies its first source) that writes slowly, counts
    the pieces read from it and whether its stream was closed; `fail_after` pieces it
    raises instead."""

    def __init__(self) -> None:
        super().__init__(step=3)
        self.pause = 0.0
        self.fail_after: int | None = None
        self.pieces = 0
        self.closed = 0
        self.total = 0

    def stream(self, messages, max_tokens: int):
        text = self.reply(list(messages))
        self.total = len(range(0, len(text), self.step))
        try:
            for n, piece in enumerate(super().stream(messages, max_tokens)):
                if self.fail_after is not None and n >= self.fail_after:
                    raise GeneratorError("The model server stopped answering: start it again.")
                time.sleep(self.pause)
                self.pieces += 1
                yield piece
        finally:
            self.closed += 1


@pytest.fixture(scope="module")
def model() -> SlowModel:
    return SlowModel()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, model: SlowModel) -> Iterator[Served]:
    with running_ui(tmp_path_factory.mktemp("api-faults"), embedder=HashingEmbedder(),
                    generator=model, api_concurrency=1, api_queue_size=1,
                    abstain_threshold=-1.4) as ui:
        yield ui


@pytest.fixture(autouse=True)
def calm(model: SlowModel) -> Iterator[None]:
    model.pause, model.fail_after = 0.0, None
    yield
    model.pause, model.fail_after = 0.0, None


def http():
    import httpx

    return httpx.Client(trust_env=False, timeout=60)


def status(ui: Served) -> dict:
    with http() as c:
        return c.get(ui.url + "/v1/status").json()


def idle(ui: Served) -> bool:
    s = status(ui)
    return s["answering"] == 0 and s["waiting"] == 0


GENERATIVE = {"model": "citewise-generative", "stream": True,
              "messages": [{"role": "user", "content": QUESTION}]}


def test_a_client_that_goes_away_mid_stream_frees_its_slot(served: Served,
                                                           model: SlowModel) -> None:
    model.pause = 0.1  # the whole draft would take several seconds
    closed = model.closed
    with http() as c, c.stream("POST", served.url + "/v1/chat/completions",
                               json=GENERATIVE) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if '"draft"' in line:  # the model is writing: go away
                break
    wait_for(lambda: idle(served), 10, "the slot to be freed")
    assert model.closed == closed + 1  # its stream was closed: nothing more is read
    assert model.pieces < model.total
    model.pause = 0.0
    with http() as c:  # the slot serves the next question
        response = c.post(served.url + "/v1/chat/completions",
                          json={**GENERATIVE, "stream": False})
    assert response.status_code == 200


def test_a_full_queue_is_a_429_with_retry_after(served: Served, model: SlowModel) -> None:
    model.pause = 0.1
    with http() as a, http() as b, http() as c:
        first = a.stream("POST", served.url + "/v1/chat/completions", json=GENERATIVE)
        second = b.stream("POST", served.url + "/v1/chat/completions", json=GENERATIVE)
        try:
            assert first.__enter__().status_code == 200
            assert second.__enter__().status_code == 200
            wait_for(lambda: status(served)["waiting"] == 1, 10, "the second to wait")
            full = c.post(served.url + "/v1/retrieve", json={"query": QUESTION})
            busy = c.post(served.url + "/v1/chat/completions",
                          json={**GENERATIVE, "stream": False})
        finally:
            first.__exit__(None, None, None)
            second.__exit__(None, None, None)
    for response in (full, busy):
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) >= 1
        error = response.json()["error"]
        assert error["code"] == "queue_full" and "retry after" in error["message"]
    wait_for(lambda: idle(served), 10, "both slots to be freed")


def test_generative_drafts_stream_beside_the_verified_content(served: Served,
                                                              model: SlowModel) -> None:
    import httpx
    import openai

    client = openai.OpenAI(base_url=served.url + "/v1", api_key="unused", max_retries=0,
                           http_client=httpx.Client(trust_env=False, timeout=60))
    chunks = list(client.chat.completions.create(**GENERATIVE))
    extras = [(c.choices[0].delta.model_extra or {}).get("citewise", {}) for c in chunks]
    draft = "".join(e.get("draft", "") for e in extras)
    content = "".join(c.choices[0].delta.content or "" for c in chunks)
    final = extras[-1]
    assert draft.endswith("[1]") and final["mode"] == "generative"
    assert final["generator"] == "scripted"
    assert content and content == " ".join(
        s["text"] + "".join(f" [{n}]" for n in s["citations"])
        for s in final["sentences"] if s["supported"] is not False)
    assert any(s["supported"] is True for s in final["sentences"])
    assert extras[1] == {"query": QUESTION}  # the query searched comes first


def test_a_model_that_fails_mid_stream_is_an_error_event(served: Served,
                                                         model: SlowModel) -> None:
    import httpx
    import openai

    model.fail_after = 3
    client = openai.OpenAI(base_url=served.url + "/v1", api_key="unused", max_retries=0,
                           http_client=httpx.Client(trust_env=False, timeout=60))
    with pytest.raises(openai.APIError, match="stopped answering"):
        list(client.chat.completions.create(**GENERATIVE))
    wait_for(lambda: idle(served), 10, "the slot to be freed")


def test_the_web_page_answers_beside_a_busy_api(served: Served, model: SlowModel) -> None:
    from gradio_client import Client

    model.pause = 0.05
    with http() as c, c.stream("POST", served.url + "/v1/chat/completions",
                               json=GENERATIVE) as response:
        assert response.status_code == 200
        web = Client(served.url, verbose=False, download_files=False)
        transcript, *_ = web.predict(QUESTION, 5, [], "extractive", api_name="/chat")
        assert 'class="cw-cite"' in transcript
        assert any('"finish_reason": "stop"' in line for line in response.iter_lines())


# -- the pure parts -----------------------------------------------------------------------------
def test_keys_are_checked_and_never_shown() -> None:
    settings = Settings(api_keys="sk-one, sk-two", _env_file=None)
    check = KeyCheck(settings)
    assert check.check("Bearer sk-two").ok and check.check("bearer  sk-one ").ok
    assert not check.check("Bearer sk-three").ok and not check.check(None).ok
    assert not check.check("Basic sk-one").ok
    for shown in (repr(settings), str(settings), repr(check),
                  check.check("Bearer sk-oops").message):
        assert "sk-one" not in shown and "sk-two" not in shown and "sk-oops" not in shown
    open_ = KeyCheck(Settings(_env_file=None))
    assert open_.check(None).ok  # loopback without keys or login: open
    closed = KeyCheck(Settings(auth_username="ann", auth_password="pw", _env_file=None))
    verdict = closed.check("Bearer anything")
    assert not verdict.ok and "CITEWISE_API_KEYS" in verdict.message


def test_serving_beyond_loopback_needs_a_key_or_a_login(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    from click.testing import CliRunner

    from app.cli import cli

    assert exposure_check(Settings(_env_file=None)) is None
    with pytest.raises(ConfigError, match="neither an API key nor a login"):
        exposure_check(Settings(host="0.0.0.0", _env_file=None))
    warning = exposure_check(Settings(host="0.0.0.0", api_keys="k", _env_file=None))
    assert warning and "CITEWISE_AUTH_USERNAME" in warning
    assert exposure_check(Settings(host="0.0.0.0", auth_username="a", auth_password="b",
                                   _env_file=None)) is None
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 1 and "neither an API key nor a login" in result.output
    assert "Traceback" not in result.output


def test_slots_admit_up_to_the_queue_then_refuse() -> None:
    slots = Slots(concurrency=1, queue_size=1)
    release = threading.Event()
    try:
        running = slots.submit(release.wait)
        cancel = Cancel()
        waiting = slots.submit(lambda: "ran", cancel)
        wait_for(lambda: slots.load().answering == 1, 5, "the first to run")
        assert slots.load().waiting == 1
        with pytest.raises(QueueFull) as full:
            slots.submit(lambda: None)
        assert full.value.retry_after >= 1
        cancel.set()  # its client went away while it waited: it never runs
        release.set()
        assert running.result(5) is True and waiting.result(5) is None
        wait_for(lambda: slots.load().answering == slots.load().waiting == 0, 5, "idle")
        assert slots.submit(lambda: 42).result(5) == 42
    finally:
        release.set()
        slots.close()


def test_the_pure_api_modules_import_no_web_framework() -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = ("import sys, app.api.auth, app.api.schema, app.api.slots, app.api.turns; "
            "heavy = {'gradio', 'fastapi', 'uvicorn', 'torch'} & set(sys.modules); "
            "assert not heavy, heavy")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_a_history_that_cannot_be_written_does_not_lose_the_answer(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from app.answer.types import Answer
    from app.api.routes import _Store
    from app.api.schema import ChatRequest
    from app.api.turns import asked

    bad = tmp_path / "history.sqlite3"
    bad.write_bytes(b"this is not a database" * 100)
    settings = Settings(index_dir=tmp_path, history_path=bad, _env_file=None)
    req = ChatRequest(model="citewise", store=True,
                      messages=[{"role": "user", "content": QUESTION}])
    answer = Answer(QUESTION, (), (), (), abstained=True)
    saved = _Store(SimpleNamespace(settings=settings)).save(req, asked(req.messages),
                                                            QUESTION, answer)
    assert set(saved) == {"store_error"} and saved["store_error"].startswith(
        "This answer was not stored")
    good = _Store(SimpleNamespace(settings=settings.model_copy(
        update={"history_path": tmp_path / "ok.sqlite3"})))
    first = good.save(req, asked(req.messages), QUESTION, answer)["conversation_id"]
    one = [{"role": "user", "content": "x"}]
    assert ChatRequest(model="c", messages=one, metadata={"store": "true"}).stored
    assert not ChatRequest(model="c", messages=one, user="ann").stored
    again = ChatRequest(model="citewise", store=True, metadata={"conversation_id": first},
                        messages=[{"role": "user", "content": "And how is it treated?"}])
    assert good.save(again, asked(again.messages), "q", answer) == {"conversation_id": first}
