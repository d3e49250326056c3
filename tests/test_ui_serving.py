"""Serving the web UI: settings, safe launch options, the request guard, the login check,
warming up the models, and modules that must not import gradio."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.config import Settings
from app.service import Citewise
from app.web.server import Guard, auth_pair, blocked_paths, launch_options, refused
from ingest.errors import ConfigError, GeneratorError
from tests.conftest import ROOT
from tests.fakes import HashingEmbedder, ScriptedGenerator


# -- serving ---------------------------------------------------------------------------------
def test_settings_for_the_web_ui(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings(_env_file=None)
    assert (defaults.host, defaults.port, defaults.auth_username, defaults.auth_password) == \
        ("127.0.0.1", 7860, None, None)
    monkeypatch.setenv("CITEWISE_PORT", "8080")
    monkeypatch.setenv("CITEWISE_AUTH_PASSWORD", "s3cret")
    monkeypatch.setenv("CITEWISE_AUTH_USERNAME", "ann")
    monkeypatch.setenv("CITEWISE_CONCURRENCY_LIMIT", "2")
    s = Settings(_env_file=None)
    assert s.port == 8080 and s.concurrency_limit == 2
    assert "s3cret" not in repr(s)  # the password never shows in logs
    assert auth_pair(s) == ("ann", "s3cret")


def test_launch_options_are_safe_by_default(tmp_path: Path) -> None:
    s = Settings(index_dir=tmp_path / "index", sources_dir=tmp_path / "src", _env_file=None)
    opts = launch_options(s)
    assert opts["server_name"] == "127.0.0.1" and opts["share"] is False
    assert opts["auth"] is None and opts["allowed_paths"] == []
    assert opts["ssr_mode"] is False and opts["mcp_server"] is False
    assert opts["max_file_size"] == 20_000_000
    blocked = set(opts["blocked_paths"])
    for p in (tmp_path / "index", tmp_path / "src", Path.cwd(), Path.cwd() / ".env"):
        assert str(p.absolute()) in blocked
    assert blocked == set(blocked_paths(s))


def test_login_needs_both_name_and_password() -> None:
    with pytest.raises(ConfigError, match="both"):
        auth_pair(Settings(auth_username="ann", _env_file=None))
    with pytest.raises(ConfigError, match="both"):
        auth_pair(Settings(auth_password="x", _env_file=None))


@pytest.mark.parametrize("path", [
    "/gradio_api/file=../../etc/passwd", "/file=..%2f..%2fetc%2fpasswd",
    "/gradio_api/file=%252e%252e/%252e%252e/etc/passwd", "/gradio_api/file=http://x.invalid/a",
    "/gradio_api/file=https:%2f%2fx.invalid/a", "/gradio_api/file=//x.invalid/a",
    "/file/..\\..\\secret", "/gradio_api/file=data/../.env",
])
def test_guard_refuses_urls_and_parent_paths(path: str) -> None:
    assert refused(path)


@pytest.mark.parametrize("path", ["/", "/gradio_api/file=/tmp/gradio/abc/x.md",
                                  "/assets/index.js", "/gradio_api/queue/join"])
def test_guard_lets_ordinary_requests_through(path: str) -> None:
    assert not refused(path)


def test_guard_adds_security_headers_and_answers_refusals_itself() -> None:
    import asyncio

    sent: list[dict] = []
    reached: list[str] = []

    async def app(scope: dict, receive: object, send) -> None:
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def send(message: dict) -> None:
        sent.append(message)

    async def run(path: str) -> None:
        scope = {"type": "http", "path": path, "raw_path": path.encode()}
        await Guard(app)(scope, None, send)

    asyncio.run(run("/"))
    headers = dict(sent[0]["headers"])
    assert b"default-src 'self'" in headers[b"content-security-policy"]
    assert headers[b"x-content-type-options"] == b"nosniff"
    sent.clear()
    asyncio.run(run("/gradio_api/file=../../etc/passwd"))
    assert sent[0]["status"] == 403 and reached == ["/"]


def test_pure_modules_do_not_import_gradio() -> None:
    code = ("import sys, app.cli, app.web.turn, app.web.documents, app.web.feedback, "
            "app.web.render, app.web.server; assert 'gradio' not in sys.modules, 'gradio imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_serve_command_help_and_login_check(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    from click.testing import CliRunner

    from app.cli import cli

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0 and "--host" in result.output and "--port" in result.output
    monkeypatch.setenv("CITEWISE_AUTH_USERNAME", "ann")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 1 and "CITEWISE_AUTH_PASSWORD" in result.output
    assert "Traceback" not in result.output


# -- warming up and the answer mode ----------------------------------------------------------
class LoadingModel(ScriptedGenerator):
    """A fake local model that counts `load()` calls, or fails to load."""

    def __init__(self, fails: bool = False):
        super().__init__()
        self.loads = 0
        self.fails = fails

    def load(self) -> None:
        self.loads += 1
        if self.fails:
            raise GeneratorError("Cannot load the model x.gguf (bad magic): is it a GGUF file?")


@pytest.mark.parametrize(("mode", "loads"), [("generative", 1), ("auto", 1),
                                             ("extractive", 0)])
def test_warm_up_loads_the_language_model_when_answers_are_generative(
        settings: Settings, mode: str, loads: int) -> None:
    from app.web.warm import warm_up

    model = LoadingModel()
    warm_up(Citewise(settings.model_copy(update={"answer_mode": mode}), HashingEmbedder(),
                     model))
    assert model.loads == loads


def test_warm_up_loads_bm25_before_the_first_question(
        service: Citewise, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.web.warm import warm_up
    from index.lexical import BM25Index

    service.ingest()
    loads: list[Path] = []
    real_load = BM25Index.load
    monkeypatch.setattr(BM25Index, "load", lambda d: loads.append(d) or real_load(d))
    warm_up(service, model=False)
    assert loads == [service.settings.index_dir]
    service.ask("voltage-gated calcium channels")
    assert len(loads) == 1


def test_warm_up_only_warns_when_the_model_cannot_be_used(
        settings: Settings, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    from app.web.warm import warm_up

    generative = settings.model_copy(update={"answer_mode": "generative"})
    broken = LoadingModel(fails=True)
    warm_up(Citewise(generative, HashingEmbedder(), broken))  # no exception ...
    assert broken.loads == 1 and "bad magic" in caplog.text  # ... a warning
    monkeypatch.setattr("app.llm.backends.make_generator", lambda settings: None)
    caplog.clear()
    warm_up(Citewise(generative, HashingEmbedder()))
    assert "Generative answers need a language model" in caplog.text
    warm_up(Citewise(settings, HashingEmbedder(), ScriptedGenerator()))  # no load(): fine


def test_answer_mode_radio_defaults_to_the_settings(settings: Settings,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import gradio as gr

    from app.web.app import build_app, mode_info
    from app.web.turn import MODES

    service = Citewise(settings.model_copy(update={"answer_mode": "auto"}), HashingEmbedder(),
                       ScriptedGenerator())
    demo = build_app(service)
    radio = next(b for b in demo.blocks.values()
                 if isinstance(b, gr.Radio) and b.elem_id == "cw-mode")
    assert radio.value == "auto" and [c[1] for c in radio.choices] == list(MODES)
    assert "the language model scripted" in mode_info(service)
    assert "not available yet" not in (radio.info or "")
    monkeypatch.setattr("app.llm.backends.make_generator", lambda settings: None)
    assert "none is configured or installed here" in mode_info(Citewise(settings))
