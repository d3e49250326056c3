"""The web UI in a real browser: Debian's Chromium driven by Playwright.

Open the page, ask, see a cited answer, hover and click a citation, see the highlighted
passage (screenshot in tests/output/); upload a document full of markup and script and
check that nothing in it runs or loads; manage documents; watch a generative answer's
draft (with markup in it) turn into verified sentences with badges. Every test also checks that the
page sent no request beyond 127.0.0.1 and broke no Content-Security-Policy rule.

Chromium must be at /usr/bin/chromium (`make test` installs it): these tests fail, never
skip, without it. Playwright's own browser download cannot work offline.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import QUESTION
from tests.fakes import HashingEmbedder, numbered_sources
from tests.ui_server import GOLD_QUOTE, Served, running_ui

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
OUTPUT = Path(__file__).parent / "output"
TIMEOUT_MS = 60_000

TITLE = "Neuromyotonia <script>window.__pwned=1</script> ${window.__pwned=1}"
PAYLOADS = ('<img src=x onerror="window.__pwned=1">',
            "[the guide](javascript:window.__pwned=1)",
            "![figure](http://example.invalid/x.png)",
            "{{constructor.constructor('window.__pwned=1')()}}")
XSS_DOC = TITLE + f"""

Neuromyotonia is caused by antibodies against voltage-gated potassium channels \
{PAYLOADS[0]} {PAYLOADS[1]} {PAYLOADS[2]} {PAYLOADS[3]} on motor nerves.

Isaacs syndrome is treated with plasma exchange and carbamazepine \
<a href="javascript:window.__pwned=1">x</a>.
"""

WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
    e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with running_ui(tmp_path_factory.mktemp("browser-ui")) as served:
        yield served


@pytest.fixture(scope="module")
def browser():
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `apt-get install -y "
                    "chromium` (`make test` does it when it is missing).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


class Page:
    """A page and everything it tried to reach beyond the server."""

    def __init__(self, page, origin: str):
        self.page = page
        self.origin = origin
        self.outside: list[str] = []
        self.errors: list[str] = []


@contextmanager
def open_page(browser, url: str) -> Iterator[Page]:
    """A fresh page at `url`; afterwards, checks that it reached nothing beyond 127.0.0.1,
    broke no CSP rule, ran no injected script and threw no error."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    watched = Page(tab, url)

    def route(r) -> None:
        host = urlsplit(r.request.url).hostname
        if host == "127.0.0.1":
            r.continue_()
        else:
            watched.outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    context.on("request", lambda req: watched.outside.append(req.url)
               if urlsplit(req.url).scheme in ("http", "https", "ws", "wss")
               and urlsplit(req.url).hostname != "127.0.0.1" else None)
    tab.on("pageerror", lambda exc: watched.errors.append(str(exc)))
    tab.add_init_script(WATCH)
    tab.set_default_timeout(TIMEOUT_MS)
    tab.goto(url)
    tab.wait_for_selector("#cw-question textarea")
    try:
        yield watched
        assert watched.outside == [], f"requests beyond 127.0.0.1: {watched.outside}"
        assert tab.evaluate("window.__csp") == []
        assert tab.evaluate("typeof window.__pwned") == "undefined"
        assert watched.errors == []
    finally:
        context.close()


@pytest.fixture
def page(browser, ui: Served) -> Iterator[Page]:
    with open_page(browser, ui.url) as watched:
        yield watched


def ask(p: Page, question: str, turn: int) -> None:
    tab = p.page
    tab.fill("#cw-question textarea", question)
    tab.keyboard.press("Enter")
    tab.wait_for_selector(f'.cw-bot[data-turn="{turn}"]:not([aria-busy])')


def screenshot(p: Page, name: str) -> Path:
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / name
    p.page.screenshot(path=str(path))
    return path


def test_cited_answer_click_shows_highlighted_passage(page: Page) -> None:
    tab = page.page
    ask(page, QUESTION, 1)
    answer = tab.locator('.cw-bot[data-turn="1"]')
    assert answer.get_attribute("data-kind") == "answer"
    assert "antibody-mediated autoimmunity" in answer.inner_text()
    marker = answer.locator(".cw-cite").first
    assert marker.inner_text().startswith("[1]")

    pop = marker.locator(".cw-pop")
    hover_until_shown(marker, pop)  # hover: the passage in a popover, sentence highlighted
    assert pop.locator("mark.cw-quote").inner_text().startswith(GOLD_QUOTE)

    marker.click()  # click: the source card, targeted and scrolled into view
    tab.wait_for_function("location.hash === '#cw-src-1-1'")
    card = tab.locator("#cw-src-1-1")
    assert tab.evaluate("document.querySelector(':target').id") == "cw-src-1-1"
    assert card.is_visible() and in_viewport(page, "#cw-src-1-1")
    mark = card.locator("mark.cw-quote")
    assert mark.inner_text().startswith(GOLD_QUOTE)
    assert "004_5e456227b6f932b4.txt" in card.inner_text()
    assert mark.evaluate("m => getComputedStyle(m).backgroundColor") not in (
        "rgba(0, 0, 0, 0)", "transparent")
    assert card.evaluate("c => getComputedStyle(c).outlineStyle") == "solid"
    tab.mouse.move(5, 5)
    pop.wait_for(state="hidden")
    assert screenshot(page, "cited-answer.png").stat().st_size > 10_000


def hover_until_shown(target, shown, tries: int = 10) -> None:
    """Hover `target` until `shown` is visible, trying a few times before failing. One CI
    run under load saw the popover stay hidden after a single hover (most likely the chat
    re-rendered just after the answer was final: a replaced element under a mouse that
    does not move is not hovered), while it showed in every other run."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for _ in range(tries):
        target.hover()
        try:
            shown.wait_for(state="visible", timeout=2_000)
            return
        except PlaywrightTimeout:
            target.page.mouse.move(1, 1)
    shown.wait_for(state="visible")  # fails with Playwright's account of what it saw


def in_viewport(p: Page, selector: str) -> bool:
    return bool(p.page.evaluate(
        """s => { const r = document.querySelector(s).getBoundingClientRect();
                  return r.top >= 0 && r.top < window.innerHeight && r.height > 0; }""",
        selector))


def test_follow_up_and_abstention_in_the_page(page: Page) -> None:
    tab = page.page
    tab.get_by_role("button", name=QUESTION).click()  # an example question
    tab.wait_for_selector('.cw-bot[data-turn="1"]:not([aria-busy]) .cw-cite')
    ask(page, "And how is it treated?", 2)
    note = tab.locator('.cw-user[data-turn="2"] .cw-query').inner_text()
    assert note == "searched for: How is paraneoplastic muscle weakness treated?"
    ask(page, "What is the capital of Australia?", 3)
    refusal = tab.locator('.cw-bot[data-turn="3"]')
    assert refusal.get_attribute("data-kind") == "abstain"
    assert "The sources don't cover this." in refusal.inner_text()
    answered = tab.locator('.cw-bot[data-turn="1"]')
    assert refusal.evaluate("e => getComputedStyle(e).backgroundColor") != \
        answered.evaluate("e => getComputedStyle(e).backgroundColor")
    assert refusal.evaluate("e => getComputedStyle(e).borderStyle") == "dashed"


def test_markup_in_a_document_runs_nothing_and_loads_nothing(page: Page, ui: Served,
                                                              tmp_path: Path) -> None:
    tab = page.page
    doc = tmp_path / "neuromyotonia.txt"
    doc.write_text(XSS_DOC)
    tab.get_by_role("tab", name="Documents").click()
    tab.locator("#cw-upload input[type=file]").set_input_files(str(doc))
    status = tab.locator("#cw-doc-status .cw-status")
    status.wait_for()
    assert "Added neuromyotonia.txt" in status.inner_text()
    table = tab.locator("#cw-doc-table")
    assert TITLE in table.inner_text()

    tab.get_by_role("tab", name="Chat").click()
    ask(page, "What causes neuromyotonia?", 1)
    answer = tab.locator('.cw-bot[data-turn="1"]')
    assert answer.get_attribute("data-kind") == "answer"
    assert PAYLOADS[0] in answer.inner_text()
    answer.locator(".cw-cite").first.hover()
    answer.locator(".cw-cite").first.click()
    card = tab.locator("#cw-src-1-1")
    card.wait_for()
    shown = card.inner_text()
    assert "neuromyotonia.txt" in shown and TITLE in shown
    for payload in PAYLOADS:
        assert payload in shown, payload
    for selector in ("img[src='x']", "a[href^='javascript']", "img[src*='example']",
                     "[onerror]"):
        assert tab.locator(selector).count() == 0, selector
    assert tab.evaluate("[...document.scripts].some(s => s.text.includes('__pwned'))") is False
    tab.mouse.move(5, 5)
    screenshot(page, "markup-document.png")

    tab.get_by_role("tab", name="Documents").click()  # and delete it again, from the page
    pick = tab.locator("#cw-doc-pick input")
    pick.click()
    pick.fill("neuromyotonia.txt")
    pick.press("Enter")
    text = tab.locator("#cw-doc-text textarea")
    tab.wait_for_function("document.querySelector('#cw-doc-text textarea').value"
                          ".includes('Neuromyotonia is caused by antibodies')")
    assert "<img src=x" in text.input_value()
    tab.get_by_role("button", name="Delete document…").click()
    tab.locator("#cw-confirm-delete").click()
    tab.wait_for_function("document.querySelector('#cw-doc-status').innerText"
                          ".includes('Deleted neuromyotonia.txt')")
    assert "neuromyotonia.txt" not in table.inner_text()
    assert not (ui.sources / "neuromyotonia.txt").exists()


def test_documents_tab_lists_and_reingests(page: Page) -> None:
    tab = page.page
    tab.get_by_role("tab", name="Documents").click()
    table = tab.locator("#cw-doc-table table")
    table.wait_for()
    rows = table.locator("tbody tr")
    assert rows.count() == 2
    assert "What is the etiology of paraneoplastic" in table.inner_text()
    tab.locator("#cw-reingest").click()
    status = tab.locator("#cw-doc-status .cw-status")
    status.wait_for()
    assert status.inner_text().startswith("0 added, 0 updated, 0 removed, 2 unchanged")
    screenshot(page, "documents.png")



# -- generative answers ----------------------------------------------------------------------
HOSTILE = '<img src=x onerror="window.__pwned=1"> <script>window.__pwned=1</script>'
INVENTED = "Paraneoplastic muscle weakness is cured by drinking seawater for 40 days."


class GatedModel:
    """A fake language model that writes a faithful sentence and the start of an invented,
    hostile one, then waits for `release` before finishing: the test sees the draft."""

    name = "gated-fake"

    def __init__(self) -> None:
        self.release = threading.Event()

    def stream(self, messages, max_tokens: int):
        evidence = numbered_sources(messages)
        if not evidence:
            yield messages[-1]["content"].rsplit("User: ", 1)[-1].split("\n")[0]
            return
        yield f"{evidence[0]} [1] "
        yield HOSTILE
        self.release.wait(TIMEOUT_MS / 1000)
        yield f" {INVENTED} [2]"


@pytest.fixture(scope="module")
def gated() -> GatedModel:
    return GatedModel()


@pytest.fixture(scope="module")
def generative_ui(tmp_path_factory: pytest.TempPathFactory, gated: GatedModel
                  ) -> Iterator[Served]:
    with running_ui(tmp_path_factory.mktemp("browser-generative"), embedder=HashingEmbedder(),
                    generator=gated, answer_mode="generative") as served:
        yield served


def test_generative_draft_then_verified_sentences_with_badges(
        browser, generative_ui: Served, gated: GatedModel) -> None:
    gated.release.clear()
    with open_page(browser, generative_ui.url) as p:
        tab = p.page
        tab.locator("#cw-settings").click()  # the mode radio defaults to the settings'
        assert tab.locator("#cw-mode input[value=generative]").is_checked()
        tab.fill("#cw-question textarea", QUESTION)
        tab.keyboard.press("Enter")
        draft = tab.locator('.cw-bot[data-turn="1"][data-kind="draft"]')
        tab.wait_for_function("""() => { const d = document.querySelector(
            '.cw-bot[data-turn="1"][data-kind="draft"] .cw-draft-text');
            return d && d.innerText.includes('</script>'); }""")
        assert draft.get_attribute("aria-busy") == "true"
        assert "checking against the sources" in draft.inner_text()
        assert HOSTILE in draft.inner_text()  # the model's markup, as text
        assert tab.locator("img[src='x'], [onerror]").count() == 0
        screenshot(p, "generative-draft.png")

        gated.release.set()
        tab.wait_for_selector('.cw-bot[data-turn="1"][data-kind="answer"]:not([aria-busy])')
        answer = tab.locator('.cw-bot[data-turn="1"]')
        supported = answer.locator(".cw-supported")
        assert supported.count() == 1 and "✓" in supported.inner_text()
        assert supported.locator(".cw-cite").count() == 1
        removed = answer.locator(".cw-unsupported")
        assert removed.count() == 1 and removed.locator(".cw-cite").count() == 0
        assert INVENTED in removed.inner_text() and HOSTILE in removed.inner_text()
        assert "not supported by the sources — removed" in removed.inner_text()
        assert "line-through" in removed.locator("del").evaluate(
            "d => getComputedStyle(d).textDecorationLine")
        supported.locator(".cw-cite").click()
        tab.wait_for_function("location.hash === '#cw-src-1-1'")
        assert tab.locator("#cw-src-1-1 mark.cw-quote").is_visible()
        assert tab.locator("img[src='x'], [onerror]").count() == 0
        tab.mouse.move(5, 5)
        screenshot(p, "generative-answer.png")
