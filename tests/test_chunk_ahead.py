"""`index.chunk_ahead.ahead`: work done in a thread ahead of the caller, in order, with the
thread's exception raised in the caller and a caller that stops early stopping the thread."""

from __future__ import annotations

import threading
import time

import pytest

from index.chunk_ahead import ahead


def test_results_come_in_order_and_are_computed_ahead() -> None:
    started: list[int] = []

    def work(n: int) -> int:
        started.append(n)
        return n * n

    got = []
    for done in ahead(list(range(20)), work):
        if done.item == 0:
            deadline = time.monotonic() + 5
            while len(started) < 20 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(started) == 20  # the thread ran on while the caller held item 0
        got.append((done.item, done.result))
    assert got == [(n, n * n) for n in range(20)]


def test_an_error_in_the_thread_is_raised_in_the_caller() -> None:
    def work(n: int) -> int:
        if n == 3:
            raise ValueError("document 3 is broken")
        return n

    seen = []
    with pytest.raises(ValueError, match="document 3 is broken"):
        for done in ahead(list(range(10)), work):
            seen.append(done.item)
    assert seen == [0, 1, 2]


def test_a_caller_that_stops_early_stops_the_thread() -> None:
    calls: list[int] = []

    def work(n: int) -> int:
        calls.append(n)
        return n

    for done in ahead(list(range(1000)), work, depth=2):
        if done.item == 1:
            break
    time.sleep(0.3)
    assert len(calls) < 10
    assert not [t for t in threading.enumerate() if t.name == "citewise-chunk-ahead"]
