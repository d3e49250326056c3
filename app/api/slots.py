"""The bounded pool API answers run in: answers are blocking CPU work, so they run in
`CITEWISE_API_CONCURRENCY` threads, with at most `CITEWISE_API_QUEUE_SIZE` more waiting;
beyond that `QueueFull` (a 429 with `Retry-After`).

A slot is held from admission until the work's thread returns. Work that streams checks a
`Cancel` flag between steps: a client that goes away sets it, the work stops consuming
its answer (closing the answer generator) and the slot frees at once; work cancelled while
it still waits returns without starting.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
DEFAULT_ANSWER_S = 2.0  # the Retry-After estimate before any answer was timed


class QueueFull(Exception):
    """Every slot is answering and the queue is full; `retry_after` in whole seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class Cancel:
    """Set by the request side when its client has gone; read by the work between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    @property
    def is_set(self) -> bool:
        return self._event.is_set()


@dataclass(frozen=True)
class Load:
    answering: int
    waiting: int
    concurrency: int
    queue_size: int

    def to_json(self) -> dict:
        return {"answering": self.answering, "waiting": self.waiting,
                "concurrency": self.concurrency, "queue_size": self.queue_size}


class Slots:
    def __init__(self, concurrency: int, queue_size: int):
        self.concurrency = concurrency
        self.queue_size = queue_size
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="citewise-api")
        self._lock = threading.Lock()
        self._admitted = 0
        self._running = 0
        self._seconds: deque[float] = deque(maxlen=20)

    def load(self) -> Load:
        with self._lock:
            return Load(self._running, self._admitted - self._running, self.concurrency,
                        self.queue_size)

    def retry_after(self) -> int:
        """Seconds until a slot is likely free: the recent mean answer time, times the
        queue ahead, over the slots."""
        with self._lock:
            mean = (sum(self._seconds) / len(self._seconds)) if self._seconds else \
                DEFAULT_ANSWER_S
            ahead = self._admitted - self.concurrency + 1
        return max(1, math.ceil(mean * max(ahead, 1) / self.concurrency))

    def submit(self, work: Callable[[], T], cancel: Cancel | None = None) -> Future[T]:
        """Run `work()` in a free thread; `QueueFull` when no place is left. Work whose
        `cancel` is set before it starts is skipped (its future gets `None`)."""
        with self._lock:
            full = self._admitted >= self.concurrency + self.queue_size
            if not full:
                self._admitted += 1
        if full:
            raise QueueFull(self.retry_after())

        def run():
            with self._lock:
                self._running += 1
            t0 = time.monotonic()
            try:
                if cancel is not None and cancel.is_set:
                    return None
                return work()
            finally:
                with self._lock:
                    self._running -= 1
                    self._admitted -= 1
                    if cancel is None or not cancel.is_set:
                        self._seconds.append(time.monotonic() - t0)

        try:
            return self._pool.submit(run)
        except RuntimeError:  # the pool is shut down: the server is stopping
            with self._lock:
                self._admitted -= 1
            raise

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
