"""Follow the sources folder and sync on change: the loop behind `citewise ingest --watch`.

`watchfiles` (Rust `notify`: inotify, FSEvents...) groups a burst of changes (an editor
saving, a folder copied in) into one set after `debounce_ms`; each set triggers one call.
Hidden files, watchfiles' usual noise (`.DS_Store`, swap files, `__pycache__`) and the
index folder (should it sit inside the sources folder) trigger nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from ingest.errors import SourcesError

# How long the watcher waits for a first event before it says it is armed; the first call
# (the initial sync) comes then, so no change made after it can be missed.
ARM_TIMEOUT_MS = 300


class StopEvent(Protocol):
    def is_set(self) -> bool: ...


def follow(folder: Path, on_change: Callable[[set[Path]], None], *, debounce_ms: int = 1600,
           stop_event: StopEvent | None = None, ignore: Sequence[Path] = ()) -> None:
    """Call `on_change(set())` once the watcher is armed, then `on_change(changed paths)`
    after every debounced burst of changes under `folder`, until `stop_event` is set.

    Ctrl-C raises KeyboardInterrupt out of here; the caller decides what it means.
    """
    import watchfiles

    if not folder.is_dir():
        raise SourcesError(
            f"Sources folder {folder} does not exist: create it, or set CITEWISE_SOURCES_DIR.")
    root = folder.resolve()
    noise = watchfiles.DefaultFilter(ignore_paths=[str(p.resolve()) for p in ignore])

    def relevant(change: watchfiles.Change, path: str) -> bool:
        p = Path(path)
        rel = p.relative_to(root) if p.is_relative_to(root) else p
        return not any(part.startswith(".") for part in rel.parts) and noise(change, path)

    armed = False
    for changes in watchfiles.watch(root, watch_filter=relevant, debounce=debounce_ms,
                                    stop_event=stop_event, rust_timeout=ARM_TIMEOUT_MS,
                                    yield_on_timeout=True, raise_interrupt=True):
        if changes or not armed:
            armed = True
            on_change({Path(p) for _, p in changes})
