"""The one exception tree of citewise.

It lives at the bottom of the dependency chain (ingest -> index -> app) so that every
package can raise from it. Every message is one sentence that says what to do; the CLI
prints it as is, without a traceback.

    CitewiseError
    ├── ConfigError          a setting is missing or wrong (e.g. model path does not exist)
    ├── SourcesError         the sources folder is missing or holds nothing we can read
    ├── LoadError            one file cannot be read; ingest reports it and goes on
    ├── IndexMissingError    no index yet: run `citewise ingest`
    ├── IndexMismatchError   the index was built with another embedding model or chunker
    ├── IndexBusyError       another ingest holds the index's writer lock (pid N)
    ├── StoreUnavailableError  the Chroma server (CITEWISE_CHROMA_URL) cannot be reached
    ├── DiskFullError        the disk of the index (or model cache, or sources) is full
    ├── GeneratorError       the language model cannot be loaded or its server does not answer
    └── HistoryError         the chat history (app/history.py) cannot be read or written, or
                             names a conversation or turn it does not hold

`disk_full_guard` is the one place that recognises a full disk, however a library reports
it (`is_disk_full`), and turns it into `DiskFullError`.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)


class CitewiseError(Exception):
    """Base of every error citewise raises on purpose."""


class ConfigError(CitewiseError):
    """A setting is missing or wrong."""


class SourcesError(CitewiseError):
    """The sources folder is missing or holds nothing we can read."""


class LoadError(CitewiseError):
    """One source file cannot be read; the message is the reason shown to the user."""


class IndexMissingError(CitewiseError):
    """There is no index to query yet."""


class IndexMismatchError(CitewiseError):
    """The existing index was built with a different embedding model or chunker."""


class IndexBusyError(CitewiseError):
    """Another process (or thread) is writing the index: one writer at a time."""


class StoreUnavailableError(CitewiseError):
    """The Chroma server the settings point at does not answer."""


class GeneratorError(CitewiseError):
    """The language model cannot be loaded or its server does not answer."""


INGEST_AGAIN = "run `citewise ingest` again; nothing indexed before was lost"
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
# How a full disk reads once a library has wrapped the OSError: SQLite's SQLITE_FULL
# (sqlite3.OperationalError, and Chroma's InternalError "... (code: 13) database or disk is
# full"), and Rust's io::Error text for ENOSPC (28) and EDQUOT (122) from Chroma's HNSW files.
_FULL_TEXTS = ("database or disk is full", "no space left on device", "disk quota exceeded",
               "os error 28)", "os error 122)")


class HistoryError(CitewiseError):
    """The chat history cannot be read or written, or holds no such conversation or turn."""


class DiskFullError(CitewiseError):
    """A write failed because the disk (or the user's quota) is full."""

    def __init__(self, folder: Path | str, then: str = INGEST_AGAIN):
        self.folder = folder
        super().__init__(f"The disk holding {folder} is full: free space and {then}.")


def is_disk_full(exc: BaseException) -> bool:
    """True if `exc`, or an exception it was raised from, says the disk is full."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in _FULL_ERRNOS:
            return True
        text = str(current).lower()
        if any(t in text for t in _FULL_TEXTS):
            return True
        current = current.__cause__ or current.__context__
    return False


@contextmanager
def disk_full_guard(folder: Path | str, then: str = INGEST_AGAIN) -> Iterator[None]:
    """Around writes to `folder`: a full disk becomes `DiskFullError` (one sentence saying
    what to do); every other error passes unchanged."""
    try:
        yield
    except CitewiseError:
        raise
    except Exception as exc:
        if not is_disk_full(exc):
            raise
        log.debug("disk full while writing %s", folder, exc_info=True)
        raise DiskFullError(folder, then) from exc
