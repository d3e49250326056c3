"""Shared pieces of the UI logic tests: hostile text, an HTML checker that allows only the
renderer's own markup, small hand-made answers, and a fake answerer for `chat_turn`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from html.parser import HTMLParser

from app.answer.types import Answer, AnswerEvent, AnswerSentence, Citation, Draft, Final
from app.conversation import Conversation, rewrite_query
from ingest.errors import ConfigError

XSS = ('<script>window.__pwned=1</script> <img src=x onerror="window.__pwned=1"> '
       '[a link](javascript:window.__pwned=1) ![fig](http://example.invalid/x.png) '
       "${window.__pwned=1} {{constructor.constructor('window.__pwned=1')()}} \" ' &")

# Everything the renderer may write; nothing else may ever reach the page.
TAGS = {"div", "span", "a", "mark", "section", "blockquote", "table", "thead", "tbody", "tr",
        "th", "td", "code", "ul", "li", "b", "del"}
ATTRS = {"class", "href", "id", "data-cite", "data-turn", "data-kind", "data-doc", "data-ok",
         "data-supported", "aria-describedby", "aria-busy", "aria-hidden", "aria-label",
         "role", "title", "target", "rel"}


class Markup(HTMLParser):
    """Collects every tag and attribute of an HTML string."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_inert(html_text: str) -> Markup:
    """Only the renderer's own tags and attributes; links stay on the page."""
    m = Markup()
    m.feed(html_text)
    assert set(m.tags) <= TAGS, set(m.tags) - TAGS
    assert {name for name, _ in m.attrs} <= ATTRS, {n for n, _ in m.attrs} - ATTRS
    # In-page anchors, and the original files served by id (app/web/files.py) only.
    assert all(value and value.startswith(("#", "/source/"))
               for name, value in m.attrs if name == "href")
    for forbidden in ("{", "}", "$", "`"):  # inert in Gradio's template evaluation too
        assert forbidden not in html_text
    return m


def citation(n: int = 1, passage: str = "Before. The quoted sentence. After.",
             title: str = "Title", doc_id: str = "doc.txt", passage_start: int = 100) -> Citation:
    quote = "The quoted sentence."
    start = passage_start + passage.index(quote) if quote in passage else passage_start
    return Citation(n, f"c{n}", doc_id, title, (title, "Section"), passage, passage_start,
                    quote, start, start + len(quote))


def answer(question: str = "q", sentences: tuple[AnswerSentence, ...] | None = None,
           citations: tuple[Citation, ...] | None = None) -> Answer:
    cites = citations if citations is not None else (citation(1), citation(2))
    sents = sentences if sentences is not None else (
        AnswerSentence("One two three four five six seven eight nine ten eleven.", (1,)),
        AnswerSentence("A second short sentence.", (2,)))
    return Answer(question, sents, cites, (), abstained=not sents)


TOPIC = "paraneoplastic muscle weakness"
NEW_DOC = ("Thymoma and myasthenia gravis\n\nThymoma is a tumour of the thymus gland. About "
           "a third of patients with thymoma develop myasthenia gravis, an autoimmune "
           "disease of the neuromuscular junction. Thymectomy is the usual treatment for "
           "thymoma with myasthenia gravis.\n")

AskFn = Callable[[str, int | None, list[str] | None], Answer]


class FakeAnswerer:
    """An `app.web.turn.Answerer` for logic tests: `ask(query, k, doc_ids)` makes the answer;
    in generative mode `draft` pieces stream first. Generative mode is available only when
    `generative=True`; follow-ups are rewritten by the rules. `asked` keeps every call."""

    def __init__(self, ask: AskFn, draft: Sequence[str] = (), generative: bool = False):
        self.ask = ask
        self.draft = tuple(draft)
        self.generative = generative
        self.asked: list[tuple[str, int | None, list[str] | None, str]] = []

    def mode(self, requested: str | None = None) -> str:
        if requested in (None, "auto"):
            return "generative" if self.generative else "extractive"
        if requested == "generative" and not self.generative:
            raise ConfigError("Generative answers need a language model.")
        return requested

    def stream(self, question: str, k: int | None = None, doc_ids: list[str] | None = None,
               mode: str | None = None) -> Iterator[AnswerEvent]:
        mode = self.mode(mode)
        self.asked.append((question, k, doc_ids, mode))
        if mode == "generative":
            yield from (Draft(piece) for piece in self.draft)
        yield Final(self.ask(question, k, doc_ids))

    def standalone_question(self, question: str, conversation: Conversation,
                            mode: str | None = None) -> str:
        return rewrite_query(question, conversation.topic)
