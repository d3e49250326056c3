"""Issue 19, defect 3: every numeric setting is bounded to what makes sense, and a value out
of range is one line naming the variable and the allowed range (CLI, `citewise serve`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

import app.service
from app.cli import cli
from app.config import SCORE_MAX, SCORE_MIN, Settings, setting_error
from ingest.errors import ConfigError


@pytest.mark.parametrize(("name", "value"), [
    ("abstain_threshold", "2"),  # above the highest score a sentence can have: always abstains
    ("abstain_threshold", "-3"),
    ("abstain_threshold", "nan"),
    ("chunk_overlap", "400"),  # with the default 160-token chunk
    ("chunk_overlap", "160"),
    ("port", "0"), ("port", "70000"),
    ("top_k", "0"), ("embed_batch_size", "0"), ("llm_threads", "0"),
    ("queue_size", "0"), ("concurrency_limit", "0"),
    ("max_doc_mb", "0"), ("max_doc_mb", "inf"), ("max_upload_mb", "-1"),
    ("llm_max_tokens", "8000"),  # above the 4096-token context
])
def test_out_of_range_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str,
                                         value: str) -> None:
    monkeypatch.setenv(f"CITEWISE_{name.upper()}", value)
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    message = setting_error(caught.value)
    assert f"CITEWISE_{name.upper()}" in message and "allowed" in message
    assert "\n" not in message


def test_the_threshold_range_is_the_range_of_the_score() -> None:
    """The score compared with the threshold is a cosine (-1..1) less a restatement
    penalty of at most RESTATEMENT_PENALTY times a share in 0..1."""
    from index.hybrid import RESTATEMENT_PENALTY

    assert (SCORE_MIN, SCORE_MAX) == (-1.0 - RESTATEMENT_PENALTY, 1.0)
    for value in (SCORE_MIN, 0.0, 0.39, SCORE_MAX):
        assert Settings(abstain_threshold=value, _env_file=None).abstain_threshold == value


def test_values_in_range_are_kept() -> None:
    s = Settings(chunk_overlap=159, chunk_tokens=160, port=65535, llm_max_tokens=4095,
                 _env_file=None)
    assert (s.chunk_overlap, s.port, s.llm_max_tokens) == (159, 65535, 4095)


def test_overlap_must_be_below_the_chunk_size_the_model_allows() -> None:
    """chunk_tokens is capped at the embedder's maximum: the overlap is checked against
    the size really used."""
    s = Settings(chunk_tokens=512, chunk_overlap=300, _env_file=None)
    with pytest.raises(ConfigError, match="CITEWISE_CHUNK_OVERLAP=300.*256"):
        s.chunker(256)
    assert s.chunker(512).overlap_tokens == 300


@pytest.mark.parametrize("command", [["ask", "What causes LEMS?"], ["ingest"], ["serve"]])
@pytest.mark.parametrize(("variable", "value", "words"), [
    ("CITEWISE_ABSTAIN_THRESHOLD", "2", "from -1.4 to 1"),
    ("CITEWISE_CHUNK_OVERLAP", "400", "0 to 159"),
    ("CITEWISE_PORT", "0", "from 1 to 65535"),
])
def test_the_cli_prints_one_line_with_the_variable_and_the_range(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: list[str], variable: str,
        value: str, words: str) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("CITEWISE_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv(variable, value)

    def got_past_the_settings(*args, **kwargs):  # and would ingest, answer or serve
        raise RuntimeError("the bad setting was accepted")

    monkeypatch.setattr(app.service, "Citewise", got_past_the_settings)
    result = CliRunner().invoke(cli, command)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert f"{variable}={value}" in lines[0] and words in lines[0]
    assert not (tmp_path / "index").exists()  # refused before anything was done
