"""The `citewise` command line, driven through click's CliRunner with the fake embedder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import app.service
from app.cli import cli
from tests.fakes import HashingEmbedder


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sources: Path):
    monkeypatch.setattr(app.service, "default_embedder", lambda settings: HashingEmbedder())
    monkeypatch.setenv("CITEWISE_SOURCES_DIR", str(sources))
    monkeypatch.setenv("CITEWISE_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.chdir(tmp_path)  # no stray .env from the checkout

    def invoke(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


def test_help_lists_commands(run) -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("ingest", "ask", "chat"):
        assert command in result.output


def test_ingest_json_summary(run) -> None:
    result = run("ingest", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert {k: data[k] for k in ("added", "updated", "removed", "unchanged")} == \
        {"added": 2, "updated": 0, "removed": 0, "unchanged": 0}
    assert data["failed"] == [] and data["chunks_embedded"] == data["chunks_total"] > 0
    again = json.loads(run("ingest", "--json").output)
    assert again["unchanged"] == 2 and again["chunks_embedded"] == 0


def test_ingest_reports_bad_files(run, sources: Path) -> None:
    (sources / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    result = run("ingest")
    assert result.exit_code == 0
    assert "2 added" in result.output and "1 failed" in result.output
    assert "broken.pdf" in result.output and "PDF" in result.output


def test_ask_json(run) -> None:
    run("ingest")
    result = run("ask", "voltage-gated calcium channels LEMS", "--json", "--k", "4")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["abstained"] is False and len(data["retrieved"]) == 4
    assert data["citations"][0]["id"] == 1 and "[1]" in data["answer"]


def test_ask_text_shows_answer_and_sources(run) -> None:
    run("ingest")
    result = run("ask", "voltage-gated calcium channels LEMS")
    assert "[1]" in result.output and "004_5e456227b6f932b4.txt" in result.output


def test_chat_reads_questions_from_stdin(run) -> None:
    run("ingest")
    result = run("chat", input="voltage-gated calcium channels LEMS\nWho won the world cup?\n")
    assert result.exit_code == 0
    assert result.output.count("> ") == 2
    assert "[1]" in result.output and "The sources don't cover this." in result.output


def test_ask_before_ingest_is_one_clear_line(run) -> None:
    result = run("ask", "anything")
    assert result.exit_code == 1
    assert "run `citewise ingest` first" in result.output
    assert "Traceback" not in result.output


def test_missing_sources_folder(run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CITEWISE_SOURCES_DIR", str(tmp_path / "nowhere"))
    result = run("ingest")
    assert result.exit_code == 1 and "does not exist" in result.output


def test_bad_setting_is_one_clear_line(run, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITEWISE_TOP_K", "many")
    result = run("ask", "x")
    assert result.exit_code == 1 and "CITEWISE_TOP_K" in result.output


def test_missing_model_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                            sources: Path) -> None:
    monkeypatch.setenv("CITEWISE_SOURCES_DIR", str(sources))
    monkeypatch.setenv("CITEWISE_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("CITEWISE_EMBEDDING_MODEL", str(tmp_path / "no-such-model"))
    result = CliRunner().invoke(cli, ["ingest"])
    assert result.exit_code == 1 and "does not exist" in result.output


def test_wrong_command_says_what_to_do(run) -> None:
    result = CliRunner().invoke(cli, ["asq", "x"])
    assert result.exit_code == 2 and "No such command" in result.output


def test_network_guard_refuses_outside_hosts() -> None:
    import socket

    with pytest.raises(RuntimeError, match="network"):
        socket.getaddrinfo("huggingface.co", 443)
    with pytest.raises(RuntimeError, match="network"):
        socket.create_connection(("203.0.113.1", 443), timeout=1)
