"""A running citewise web UI for the launched-app and browser tests.

`running_ui()` copies the default corpus (plus any extra files) into a folder, ingests it
with the real packaged model (loaded once per test session) unless given another
embedder, and serves the app (the page and /v1, `app.api.server.serve`) on a free
127.0.0.1 port in a thread of this process; pass
`generator=` (say, a `ScriptedGenerator`) for generative answers.
"""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

# Before gradio or gradio_client is imported: no analytics, no telemetry.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

from app.config import Settings  # noqa: E402
from app.llm.backends import Generator  # noqa: E402
from app.service import Citewise, default_embedder  # noqa: E402
from index.embedder import Embedder  # noqa: E402
from tests.conftest import DEFAULT_SOURCES  # noqa: E402
from tests.helpers import free_port, wait_for  # noqa: E402

GOLD_QUOTE = ("Paraneoplastic muscle weakness is primarily caused by antibody-mediated "
              "autoimmunity")


@dataclass
class Served:
    url: str
    service: Citewise
    demo: Any  # gr.Blocks
    root: Path

    @property
    def sources(self) -> Path:
        return self.service.settings.sources_dir


@lru_cache(maxsize=1)
def real_embedder() -> Embedder:
    return default_embedder(Settings(_env_file=None))


def http_get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    """(status, body) of a plain GET, errors included (no redirects followed)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@contextmanager
def running_ui(root: Path, extra: dict[str, str] | None = None,
               embedder: Embedder | None = None, generator: Generator | None = None,
               **settings: Any) -> Iterator[Served]:
    from app.api.server import serve

    sources = root / "sources"
    shutil.copytree(DEFAULT_SOURCES, sources)
    for name, text in (extra or {}).items():
        (sources / name).write_text(text)
    settings.setdefault("port", free_port())
    config = Settings(sources_dir=sources, index_dir=root / "index",
                      feedback_dir=root / "feedback", _env_file=None, **settings)
    service = Citewise(config, embedder or real_embedder(), generator)
    summary = service.ingest()
    assert summary.failed == [], summary.failed
    running = serve(service)  # the page and /v1, as `citewise serve` runs them
    url = f"http://127.0.0.1:{config.port}"
    try:
        wait_for(lambda: http_get(url + "/")[0] in (200, 401), 30, "the web UI to answer")
        yield Served(url, service, running.demo, root)
    finally:
        running.close()
