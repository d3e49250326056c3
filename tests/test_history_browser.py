"""The conversation sidebar in a real browser (headless Chromium): after a reload the
sidebar lists the conversation, titled by its first question; clicking it shows the
transcript and its source cards again; New chat empties the page. Saves
tests/output/history-sidebar.png."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import QUESTION
from tests.fakes import HashingEmbedder
from tests.test_ui_browser import ask, browser, open_page, screenshot  # noqa: F401 (fixture)
from tests.ui_server import Served, running_ui

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SECOND = "How common is LEMS in small cell lung cancer?"


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with running_ui(tmp_path_factory.mktemp("history-browser"), embedder=HashingEmbedder(),
                    abstain_threshold=-1.4) as served:
        yield served


def test_a_conversation_is_back_after_a_reload(browser, ui: Served) -> None:  # noqa: F811
    with open_page(browser, ui.url) as p:
        ask(p, QUESTION, 1)
        ask(p, "And how is it treated?", 2)
        tab = p.page
        tab.wait_for_selector(f'#cw-conversations label:has-text("{QUESTION}")')
        tab.reload()  # the session's turns are gone; the history is not
        tab.wait_for_selector("#cw-question textarea")
        assert tab.locator(".cw-msg").count() == 0
        entry = tab.locator(f'#cw-conversations label:has-text("{QUESTION}")')
        entry.wait_for()
        entry.click()
        tab.wait_for_selector('.cw-bot[data-turn="2"]')
        assert tab.locator(".cw-user").count() == 2
        assert tab.locator("#cw-sources-panel .cw-source").count() >= 2
        tab.get_by_text("Rename or delete this conversation").click()
        title = tab.locator("#cw-conv-title textarea, #cw-conv-title input")
        title.wait_for()
        assert title.input_value() == QUESTION
        ask(p, SECOND, 3)  # goes on in the reopened conversation
        screenshot(p, "history-sidebar.png")
        tab.click("#cw-side-new")
        tab.wait_for_function("document.querySelectorAll('.cw-msg').length === 0")
        assert tab.locator("#cw-conversations label").count() == 1
    [conv] = ui.service.history.conversations()
    assert conv.title == QUESTION and conv.turns == 3
