"""The fixed beginning of every prompt, read by the model once and kept on disk.

llama.cpp's server saves a slot's KV cache to a file and restores it
(`POST /slots/0?action=save|restore`, enabled by `CommonParams.slot_save_path`), and with
`cache_prompt` (its default) a request reuses the tokens its prompt shares with the slot.
So `prime` reads the fixed part once (the rules and worked example, passed in by the
caller) and saves the slot; a later process restores that file in milliseconds instead of
reading the prefix again (measured in docs/benchmarks.md, "Cold start"). The file is named
by a digest of the model file (path, size, modification time), the context size and the
messages, so a change to any of them reads the prefix again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

Message = dict[str, str]


def slot_file(folder: Path, model_path: Path, context_tokens: int,
              messages: Sequence[Message]) -> Path:
    """Where the slot holding `messages` for this model and context is kept."""
    st = model_path.stat()
    key = json.dumps([str(model_path.resolve()), st.st_size, st.st_mtime_ns, context_tokens,
                      list(messages)])
    return folder / f"prefix-{hashlib.sha256(key.encode()).hexdigest()[:24]}.bin"


def _post(base_url: str, path: str, body: dict) -> dict:
    import httpx

    response = httpx.post(base_url + path, json=body, timeout=120.0)
    response.raise_for_status()
    return response.json()


def restore(base_url: str, file: Path) -> bool:
    """Load the saved slot into slot 0; False when there is none or it cannot be read."""
    if not file.is_file():
        return False
    try:
        out = _post(base_url, "/slots/0?action=restore", {"filename": file.name})
    except Exception as exc:  # noqa: BLE001  httpx errors, a file of another build
        log.info("prompt cache %s not restored (%s): reading the prefix again", file, exc)
        return False
    return int(out.get("n_restored", 0)) > 0


def save(base_url: str, file: Path) -> None:
    """Save slot 0 (which has just read the prefix) to `file`, atomically: llama.cpp
    writes it under a temporary name, renamed when complete."""
    tmp = file.with_name(f"{file.stem}.tmp{os.getpid()}.bin")
    try:
        _post(base_url, "/slots/0?action=save", {"filename": tmp.name})
        os.replace(tmp, file)
    except Exception as exc:  # noqa: BLE001  a full disk, a read-only folder: cache only
        tmp.unlink(missing_ok=True)
        log.info("prompt cache not saved to %s (%s)", file, exc)
