"""The source card's page link in a real browser: `citewise serve`'s server sends the PDF,
and Chromium's PDF viewer opens it at the cited page."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from app.config import Settings
from app.service import Citewise
from app.web import render
from tests.fakes import HashingEmbedder
from tests.pdf_samples import make_pdf

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def test_the_card_link_opens_the_pdf_at_the_cited_page(tmp_path: Path) -> None:
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `apt-get install -y "
                    "chromium` (`make test` does it when it is missing).")
    from playwright.sync_api import sync_playwright

    from app.api.server import serve

    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "lems.pdf").write_bytes(make_pdf())
    port = _free_port()
    service = Citewise(Settings(sources_dir=folder, index_dir=tmp_path / "ix", port=port,
                                _env_file=None), HashingEmbedder())
    service.ingest()
    answer = service.ask("How does amifampridine improve muscle strength?", mode="extractive")
    cite = next(c for c in answer.citations if "Amifampridine" in c.quote)
    assert cite.page == 3
    href = re.search(r'href="([^"]+)"', render.open_link(cite)).group(1)
    assert href == "/source/lems.pdf#page=3"

    running = serve(service)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            try:
                page = browser.new_page()
                response = page.goto(running.url.rstrip("/") + href)
                assert response is not None and response.status == 200
                assert response.headers["content-type"] == "application/pdf"
                viewer = _viewer(page)
                selector = viewer.locator("#pageSelector").first
                selector.wait_for(timeout=60_000)
                assert _value_soon(selector, "3")
            finally:
                browser.close()
    finally:
        running.close()


def _viewer(page):
    """The frame of Chromium's PDF viewer (an extension page inside the tab)."""
    for _ in range(120):
        frames = [f for f in page.frames if f.url.startswith("chrome-extension://")]
        if frames:
            return frames[0]
        page.wait_for_timeout(500)
    raise AssertionError(f"no PDF viewer in the tab: {[f.url for f in page.frames]}")


def _value_soon(locator, wanted: str) -> bool:
    value = None
    for _ in range(60):
        value = locator.input_value()
        if value == wanted:
            return True
        locator.page.wait_for_timeout(500)
    raise AssertionError(f"the viewer shows page {value}, not {wanted}")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
