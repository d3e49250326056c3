"""Read files in a child process, each within a time budget (CITEWISE_MAX_DOC_SECONDS).

A file that takes too long to read must not hang the ingest: the web UI re-ingests in a
worker thread, where `signal.alarm` cannot be used, and a deadline checked by Python code
cannot interrupt a regex or a parser stuck in C. So files are read (decoded and split into
blocks: `ingest.loaders.load`) by a child process, kept alive across files and sent them in
batches (up to `BATCH_FILES` files or `BATCH_BYTES` bytes a round trip), which answers file
by file. A file whose answer does not come within its budget is reported as failed with the
reason, the child is killed, and a new one goes on with the rest of the batch.

The child is a fresh interpreter (`subprocess`, fork + exec), not `multiprocessing`: its
'spawn' start re-imports the parent's `__main__` (the web server, pytest), and a plain fork
of a process with threads running (the web UI, torch) is unsafe.

The parent reads the bytes (so that its permission errors and size checks stay where they
were) and keeps what needs other documents (lines repeated across documents) and the
cleaning; the child only loads. `seconds=None` loads in this process, with no budget.

The child ignores Ctrl-C (the terminal sends SIGINT to both): the parent decides, and a
`with Worker` block left by an exception (KeyboardInterrupt) kills the child at once rather
than let it finish its file. The child never outlives its parent, however the parent ends
(SIGKILL, SIGTERM, a crash): see `_die_with_parent`.

    with Worker(60.0) as worker:
        for tag, out in worker.run((tag, (name, data, max_chars)) for ...):
            ...  # out: what `load_job` returned, or a LoadError saying why not
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

from ingest.errors import LoadError

log = logging.getLogger(__name__)

DEFAULT_SECONDS = 60.0
TARGET = "ingest.worker:load_job"  # module:function the child runs on each job's arguments
BATCH_FILES = 64
BATCH_BYTES = 8_000_000
START_SECONDS = 120.0  # for the child to start (a loaded machine): not part of any budget
ROOT = Path(__file__).resolve().parent.parent
_HEADER = struct.Struct(">Q")
PR_SET_PDEATHSIG = 1  # prctl option, <linux/prctl.h>
T = TypeVar("T")


def load_job(name: str, data: bytes, max_chars: int | None, ocr: bool = False,
             ocr_cache: str | None = None) -> tuple[int, list[tuple] | None, dict]:
    """(characters of text, blocks as tuples, what else the file told) of the file `name`
    holding `data`; the blocks are None when there are more than `max_chars` characters
    (they are not sent back). The third item holds a PDF's `pages`, `ocr_pages` and
    `problems` (pages lost, with the reason; `ingest.loaders.Loaded`). `ocr`: read a
    PDF's scanned pages by OCR (`ingest.ocr`), keeping the text read in `ocr_cache`."""
    from ingest import ocr as ocr_room
    from ingest.loaders import load_document

    ocr_room.cache_dir = Path(ocr_cache) if ocr_cache else None

    loaded = load_document(Path(name), data, ocr=ocr)
    chars = sum(len(b.text) for b in loaded.blocks)
    info = {"pages": loaded.pages, "ocr_pages": list(loaded.ocr_pages),
            "problems": list(loaded.problems)}
    if max_chars is not None and chars > max_chars:
        return chars, None, info
    return chars, [(b.text, b.kind, b.level, b.page, b.anchor) for b in loaded.blocks], info


def overrun_reason(seconds: float) -> str:
    return (f"took longer than {seconds:g} s to read (CITEWISE_MAX_DOC_SECONDS): simplify or "
            "split the file, or raise the limit")


class Worker:
    """Runs `target` on each job in a child process, at most `seconds` a job (None: in this
    process, no limit). One thread at a time; close it (or use `with`)."""

    def __init__(self, seconds: float | None = DEFAULT_SECONDS, target: str | None = None,
                 batch_files: int = BATCH_FILES, batch_bytes: int = BATCH_BYTES) -> None:
        self.seconds = seconds
        self.target = target or TARGET
        self.batch_files = batch_files
        self.batch_bytes = batch_bytes
        self.proc: subprocess.Popen | None = None
        self.started = 0  # child processes started (a restart after each overrun)
        self._buffer = bytearray()
        self._died = False  # the last `_receive` found the child's output closed

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            self.close()
        else:  # Ctrl-C (or an error) mid-file: the child's work is not wanted any more
            self._kill()

    def run(self, jobs: Iterable[tuple[T, tuple]]) -> Iterator[tuple[T, Any]]:
        """(tag, result or LoadError) for each (tag, arguments) job, in order."""
        if self.seconds is None:
            function = _resolve(self.target)
            for tag, args in jobs:
                yield tag, _call(function, args)
            return
        batch: list[tuple[T, bytes]] = []
        size = 0
        for tag, args in jobs:
            raw = pickle.dumps(args, pickle.HIGHEST_PROTOCOL)
            batch.append((tag, raw))
            size += len(raw)
            if len(batch) >= self.batch_files or size >= self.batch_bytes:
                yield from self._run_batch(batch)
                batch, size = [], 0
        if batch:
            yield from self._run_batch(batch)

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            _pipe(proc.stdin).close()  # the child ends at the end of its input
            proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            pass
        finally:  # also when Ctrl-C comes during the wait
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            _pipe(proc.stdout).close()

    # -- the parent's side ------------------------------------------------------------------
    def _run_batch(self, batch: list[tuple[T, bytes]]) -> Iterator[tuple[T, Any]]:
        while batch:
            sent = self._send([raw for _, raw in batch])
            if sent is None:
                # The child could not be started: read here, without a budget.
                function = _resolve(self.target)
                for tag, raw in batch:
                    yield tag, _call(function, pickle.loads(raw))
                return
            done = 0
            for tag, _ in batch:
                deadline = time.monotonic() + (self.seconds or 0)
                reply = self._receive(deadline) if sent else None
                while reply == ("renew", None):  # a page read by OCR: its own budget begins
                    deadline = time.monotonic() + (self.seconds or 0)
                    reply = self._receive(deadline)
                if reply is None:  # over budget, or the child died: it goes, a new one goes on
                    yield tag, LoadError(self._failure())
                    self._kill()
                    done += 1
                    break
                status, value = reply
                yield tag, (value if status == "ok" else LoadError(value))
                done += 1
            batch = batch[done:]

    def _send(self, raws: list[bytes]) -> bool | None:
        """True once the child has the batch; False when it died taking it (twice: a child
        found dead since the last batch is replaced once); None when none can start."""
        for _ in range(2):
            if self.proc is None and not self._start():
                return None
            assert self.proc is not None
            try:
                _write(_pipe(self.proc.stdin), raws)
                return True
            except OSError:  # BrokenPipeError: the child is gone
                self._kill()
        return False

    def _start(self) -> bool:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "from ingest.worker import serve; serve()", self.target,
                 str(os.getpid())],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=ROOT)
        except OSError as exc:
            log.warning("cannot start the file reader process (%s): reading files in this "
                        "process, with no time limit per file", exc)
            return False
        self.started += 1
        self._buffer.clear()
        if self._receive(time.monotonic() + START_SECONDS) != ("ready", None):
            self._kill()
            log.warning("the file reader process did not start: reading files in this "
                        "process, with no time limit per file")
            return False
        return True

    def _receive(self, deadline: float) -> tuple[str, Any] | None:
        """The child's next message, or None when it did not come by `deadline` or the
        child died."""
        assert self.proc is not None
        fd = _pipe(self.proc.stdout).fileno()
        # poll, not select: select refuses descriptors above 1024, which a long-running
        # process (a web server, the test suite) passes.
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
        self._died = False
        while True:
            if len(self._buffer) >= _HEADER.size:
                (length,) = _HEADER.unpack_from(self._buffer)
                if len(self._buffer) >= _HEADER.size + length:
                    raw = bytes(self._buffer[_HEADER.size:_HEADER.size + length])
                    del self._buffer[:_HEADER.size + length]
                    return pickle.loads(raw)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not poller.poll(left * 1000):
                return None
            chunk = os.read(fd, 1 << 20)
            if not chunk:  # the child died
                self._died = True
                return None
            self._buffer += chunk

    def _failure(self) -> str:
        if self.proc is None:
            return "the process reading it died: check the file, or save it in another format"
        if not self._died:
            return overrun_reason(self.seconds or 0)
        try:
            code = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # its output closed, yet it lives on
            code = -9
        how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
        return (f"the process reading it died ({how}): check the file, or save it in another "
                "format")

    def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                with contextlib.suppress(OSError):  # BrokenPipeError: unsent input
                    _pipe(stream).close()


def _pipe(stream: IO[bytes] | None) -> IO[bytes]:
    assert stream is not None  # every pipe of the child is opened
    return stream


def _write(stream: IO[bytes], message: object) -> None:
    raw = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(raw)) + raw)
    stream.flush()


def _read(stream: IO[bytes]) -> object | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (length,) = _HEADER.unpack(header)
    return pickle.loads(stream.read(length))


def _resolve(target: str) -> Callable:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _call(function: Callable, args: tuple) -> Any:
    try:
        return function(*args)
    except LoadError as exc:
        return exc
    except RecursionError:
        return LoadError("nested too deeply to read: flatten the file's structure, or save "
                         "it as plain text")
    except Exception as exc:  # noqa: BLE001  a bug in a loader fails one file, not the sync
        return LoadError(f"could not be read ({exc.__class__.__name__}: {exc}): check the "
                         "file, or save it in another format")


# -- the child's side -----------------------------------------------------------------------
_out: IO[bytes] | None = None  # the child's channel to the parent (None in any other process)


def renew_budget() -> None:
    """Start the current file's time budget again: called before each page read by OCR
    (`ingest.ocr.before_page`), so that a long scan gets CITEWISE_MAX_DOC_SECONDS a page,
    while one stuck page is still stopped. Does nothing outside the child."""
    if _out is not None:
        _write(_out, ("renew", None))


def serve() -> None:
    """The child's loop: read a batch, answer job by job, until the input ends.
    Arguments: the target (module:function) and the parent's pid."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if len(sys.argv) > 2:
        _die_with_parent(int(sys.argv[2]))
    global _out
    out = _out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # whatever a library prints goes to stderr, not into the answers
    from ingest import ocr

    ocr.before_page = renew_budget  # each page read by OCR gets its own time budget
    function = _resolve(sys.argv[1] if len(sys.argv) > 1 else TARGET)
    _write(out, ("ready", None))
    while (batch := _read(sys.stdin.buffer)) is not None:
        assert isinstance(batch, list)
        for raw in batch:
            result = _call(function, pickle.loads(raw))
            if isinstance(result, LoadError):
                _write(out, ("error", str(result)))
            else:
                _write(out, ("ok", result))


def _die_with_parent(parent: int) -> None:
    """End this process as soon as `parent` ends, however it ends: a child left reading a
    hostile file would go on for ever, holding the parent's stderr open.

    On Linux the kernel sends SIGKILL (PR_SET_PDEATHSIG), even while a loader is stuck in C
    code. It comes when the parent's thread that started the child ends: a `Worker` is used
    by one thread at a time, which starts its children (a child killed because another
    thread took the Worker over is reported as died, and replaced). Elsewhere a thread looks
    every second, which a loader holding the interpreter in C code delays."""
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent:  # gone already, before the signal was armed
        os._exit(1)
    if not armed:
        def orphaned() -> None:
            while os.getppid() == parent:
                time.sleep(1.0)
            os._exit(1)

        threading.Thread(target=orphaned, daemon=True, name="parent-watch").start()
