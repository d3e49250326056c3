"""Chunk the next documents in a thread while the embedder works on the last ones.

Chunking is Python (token counts, abbreviations): for 3,000 abstracts it took about 50 s,
all of it before the first vector, with no progress shown. The encoder (torch or
onnxruntime) releases the GIL while it computes, so a thread that chunks ahead uses the
time the encoder leaves. The thread runs through every document (all chunks are held
until stored, as before); an exception in the thread is raised in the consumer, and a
consumer that stops early stops the thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

@dataclass(frozen=True)
class _Failed:
    error: BaseException


@dataclass(frozen=True)
class Done(Generic[Item, Result]):
    item: Item
    result: Result


def ahead(items: list[Item], work: Callable[[Item], Result],
          depth: int = 0) -> Iterator[Done[Item, Result]]:
    """`work(item)` for each of `items`, in order, computed in a thread ahead of the
    caller: up to `depth` items ahead (0: as far as it gets)."""
    results: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                results.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if stop.is_set() or not put(Done(item, work(item))):
                    return
        except BaseException as exc:  # noqa: BLE001  raised again in the caller
            put(_Failed(exc))

    thread = threading.Thread(target=run, name="citewise-chunk-ahead", daemon=True)
    thread.start()
    try:
        for _ in items:
            got = results.get()
            if isinstance(got, _Failed):
                raise got.error
            yield got
    finally:
        stop.set()
        thread.join(timeout=5)
