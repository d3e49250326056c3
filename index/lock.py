"""One writer at a time: the lock an ingest holds on its index folder.

The lock is `fcntl.flock` on `ingest.lock` in the index folder, and the file holds the pid of
the holder so a second ingest can say who is writing. The kernel drops an flock when its
process dies, however it dies, so a killed ingest leaves the file behind (with its dead pid)
but never a stale lock: the next ingest takes it over. flock locks belong to an open file,
so two ingests in one process (two threads) exclude each other too. Readers take no lock.

POSIX only (Linux, macOS), like the rest of the tool chain.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from ingest.errors import IndexBusyError


class IndexLock:
    """Context manager: hold the writer lock of `index_dir` or raise `IndexBusyError`."""

    FILENAME = "ingest.lock"

    def __init__(self, index_dir: Path):
        self.dir = index_dir
        self.path = index_dir / self.FILENAME
        self._fd: int | None = None

    def acquire(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise IndexBusyError(_busy_message(self.dir, holder)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> IndexLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        return int(os.pread(fd, 32, 0).decode().strip())
    except (OSError, ValueError):
        return None  # the holder has not written its pid yet


def _busy_message(index_dir: Path, pid: int | None) -> str:
    if pid == os.getpid():
        who = f"another ingest in this process (pid {pid})"
    elif pid is not None:
        who = f"another process (pid {pid})"
    else:
        who = "another process"
    return (f"The index at {index_dir} is being updated by {who}: wait for it to finish "
            "(or stop it) and run `citewise ingest` again.")
