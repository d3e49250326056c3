"""Small helpers shared by the test modules and the UI test server: a free loopback port,
a polling wait, and starting a process that a test stops with Ctrl-C."""

from __future__ import annotations

import contextlib
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition, timeout: float, what: str, interval: float = 0.05):
    """Poll `condition()` until it returns something truthy; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def popen_interruptible(args: list[str], **kwargs: Any) -> subprocess.Popen:
    """`subprocess.Popen` for a process the test will stop with Ctrl-C (SIGINT): it starts
    with SIGINT at its default, as a terminal starts a foreground job, however this test
    run was started.

    A shell without job control (a script, `nohup make test &`, a CI runner) starts a
    background job with SIGINT ignored, so that a Ctrl-C in the terminal leaves it alone.
    pytest keeps it ignored, an ignored signal stays ignored across fork and exec, and
    Python installs its KeyboardInterrupt handler only where SIGINT is at its default: a
    child started plainly never sees the test's Ctrl-C. A caught signal is reset to its
    default by exec, so SIGINT is caught here while the child starts. Main thread only."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen(args, **kwargs)
    finally:
        signal.signal(signal.SIGINT, previous)


def wait_until_serving(server: subprocess.Popen, timeout: float = 120) -> list[str]:
    """Read a started `citewise serve`'s output (text mode, stderr joined to stdout) until
    it prints that it is running; its lines so far (the list goes on filling). A server
    that exits first fails the test with what it printed."""
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in server.stdout or ()],
                     daemon=True).start()
    seen: list[str] = []

    def running() -> bool:
        while not lines.empty():
            seen.append(lines.get())
        if server.poll() is not None:
            raise AssertionError(f"citewise serve exited: {''.join(seen)}")
        return any("citewise is running" in line for line in seen)

    wait_for(running, timeout, "citewise serve to print its address", interval=0.1)
    return seen


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """This process ignores SIGINT meanwhile, as when the test run was started in the
    background by a shell without job control."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
