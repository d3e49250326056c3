"""int8 ONNX MiniLM is the default embedder; fp32 stays selectable, and an index built with
the fp32 model (the default before) keeps it until `ingest --rebuild`. The ingest, query
and serve paths with int8 import no torch (checked in a fresh process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.config import Settings
from app.service import Citewise, embedding_model
from index.embedder import INT8_MODEL, PACKAGED_MODEL, OnnxInt8Embedder
from index.manifest import Manifest
from tests.conftest import ROOT


def test_int8_is_the_default_and_fp32_is_selectable(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "index", _env_file=None)
    assert settings.embedding_model == INT8_MODEL
    assert embedding_model(settings) == INT8_MODEL
    assert isinstance(Citewise(settings).embedder, OnnxInt8Embedder)
    chosen = Settings(index_dir=tmp_path / "index", embedding_model=PACKAGED_MODEL,
                      _env_file=None)
    assert embedding_model(chosen) == PACKAGED_MODEL


def test_an_index_built_with_fp32_keeps_its_model_until_a_rebuild(tmp_path: Path) -> None:
    index_dir = tmp_path / "index"
    manifest = Manifest(index_dir)
    manifest.set_meta("embedding_model", PACKAGED_MODEL)
    manifest.close()
    unset = Settings(index_dir=index_dir, _env_file=None)
    assert Manifest.built_with(index_dir) == PACKAGED_MODEL
    assert embedding_model(unset) == PACKAGED_MODEL  # no mismatch error, nothing re-embedded
    explicit = Settings(index_dir=index_dir, embedding_model=INT8_MODEL, _env_file=None)
    assert embedding_model(explicit) == INT8_MODEL  # asked for: the usual mismatch message
    assert Manifest.built_with(tmp_path / "none") is None


def test_a_rebuild_moves_an_old_fp32_index_to_int8(tmp_path: Path, sources: Path) -> None:
    index_dir = tmp_path / "index"
    manifest = Manifest(index_dir)
    manifest.set_meta("embedding_model", PACKAGED_MODEL)
    manifest.close()
    service = Citewise(Settings(sources_dir=sources, index_dir=index_dir, _env_file=None))
    assert service.embedder.name == PACKAGED_MODEL  # loads nothing until it embeds
    service.ingest(rebuild=True)
    assert service.embedder.name == INT8_MODEL
    assert Manifest.built_with(index_dir) == INT8_MODEL


def test_ingest_ask_and_the_web_app_import_no_torch_with_int8(tmp_path: Path,
                                                              sources: Path) -> None:
    code = f"""
import sys
from pathlib import Path
from app.config import Settings
from app.service import Citewise
s = Settings(sources_dir=Path({str(sources)!r}), index_dir=Path({str(tmp_path / "ix")!r}),
             answer_mode="extractive", _env_file=None)
service = Citewise(s)
service.ingest()
answer = service.ask("What causes Lambert-Eaton myasthenic syndrome?")
assert answer.sentences, answer
from app.web.app import build_app
build_app(service)
heavy = {{"torch", "sentence_transformers", "transformers"}} & set(sys.modules)
assert not heavy, heavy
print("ok", service.embedder.name)
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-2:] == ["ok", INT8_MODEL]
