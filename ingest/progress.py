"""The one progress bar of the code base (tqdm on stderr), readable in a terminal and in a
CI log alike: redrawn every 0.5 s on a terminal; elsewhere every 10 s, in ASCII, so a log
gets a line every ten seconds, not thousands of carriage returns.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any


class _NoBar:
    total: float | None = None

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *_: object) -> None:
        pass

    def update(self, n: int = 1) -> None:
        pass


def bar(items: Iterable | None = None, *, enabled: bool, desc: str, unit: str,
        total: int | None = None) -> Any:
    """`items` with a bar when `enabled` (`items` itself otherwise); with no `items`, a bar
    to `update` by hand (a no-op one when not enabled)."""
    if not enabled:
        return _NoBar() if items is None else items
    from tqdm import tqdm

    tty = sys.stderr.isatty()
    return tqdm(items, desc=desc, unit=unit, total=total, file=sys.stderr,
                mininterval=0.5 if tty else 10.0, ascii=not tty)
