"""The web UI's logic as plain functions: follow-ups, streaming, safe HTML, documents,
feedback, export and the serving options. No gradio here (the launched app is tested in
test_ui_app.py, the page in test_ui_browser.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest

from app import render
from app.answer import ABSTAIN_TEXT, Answer, AnswerSentence, Citation
from app.chat import ChatView, Turn, chat_turn, rewrite_query, stream_pieces, topic_of
from app.config import Settings
from app.documents import BUSY, Documents, safe_name, save_uploads
from app.feedback import export_markdown, md_escape, read_feedback, record_feedback
from app.server import Guard, auth_pair, blocked_paths, launch_options, refused
from app.service import Citewise
from ingest.errors import ConfigError, IndexMissingError
from tests.conftest import QUESTION, ROOT

XSS = ('<script>window.__pwned=1</script> <img src=x onerror="window.__pwned=1"> '
       '[a link](javascript:window.__pwned=1) ![fig](http://example.invalid/x.png) '
       "${window.__pwned=1} {{constructor.constructor('window.__pwned=1')()}} \" ' &")

# Everything the renderer may write; nothing else may ever reach the page.
TAGS = {"div", "span", "a", "mark", "section", "blockquote", "table", "thead", "tbody", "tr",
        "th", "td", "code", "ul", "li", "b"}
ATTRS = {"class", "href", "id", "data-cite", "data-turn", "data-kind", "data-doc", "data-ok",
         "aria-describedby", "aria-busy", "aria-hidden", "role"}


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
    assert all(value and value.startswith("#") for name, value in m.attrs if name == "href")
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


# -- follow-up questions ----------------------------------------------------------------------
TOPIC = "paraneoplastic muscle weakness"


def test_topic_is_the_content_words_without_question_words() -> None:
    assert topic_of(QUESTION) == TOPIC
    assert topic_of("How is paraneoplastic muscle weakness treated?") == TOPIC
    assert topic_of("What is LEMS?") == "LEMS"
    assert topic_of("Why?") == ""


@pytest.mark.parametrize(("question", "query"), [
    ("And how is it treated?", "How is paraneoplastic muscle weakness treated?"),
    ("What are its symptoms?", "What are paraneoplastic muscle weakness symptoms?"),
    ("How common is that?", "How common is paraneoplastic muscle weakness?"),
    ("Is this condition hereditary?", "Is paraneoplastic muscle weakness hereditary?"),
    ("What about children?", f"What about children? {TOPIC}"),
    ("How common?", f"How common? {TOPIC}"),
    ("And the treatment?", f"the treatment? {TOPIC}"),
    # Questions that carry their own topic are searched as asked.
    ("What is LEMS?", "What is LEMS?"),
    ("Which drug improved the neuromyopathy in the sicca syndrome case?",
     "Which drug improved the neuromyopathy in the sicca syndrome case?"),
    ("What is the evidence that steroids help?", "What is the evidence that steroids help?"),
    ("Is it true that cyclophosphamide helps neuropathy?",
     "Is it true that cyclophosphamide helps neuropathy?"),
])
def test_follow_up_rewriting(question: str, query: str) -> None:
    assert rewrite_query(question, TOPIC) == query


def test_first_question_is_never_rewritten() -> None:
    assert rewrite_query("And how is it   treated?", None) == "And how is it treated?"


def test_chat_turn_searches_follow_ups_in_context() -> None:
    asked: list[tuple[str, int | None, list[str] | None]] = []

    def ask(query: str, k: int | None, doc_ids: list[str] | None) -> Answer:
        asked.append((query, k, doc_ids))
        return answer(query)

    first = list(chat_turn(ask, QUESTION, [], k=3, words_per_step=100))[-1]
    second = list(chat_turn(ask, "And how is it treated?", first.turns, k=3,
                            doc_ids=["a.txt"], words_per_step=100))[-1]
    assert [q for q, _, _ in asked] == [QUESTION, "How is paraneoplastic muscle weakness "
                                                  "treated?"]
    assert asked[1][1:] == (3, ["a.txt"])
    assert [t.question for t in second.turns] == [QUESTION, "And how is it treated?"]
    assert second.turns[1].topic == TOPIC
    html = second.transcript_html
    assert "searched for: How is paraneoplastic muscle weakness treated?" in html


# -- streaming -------------------------------------------------------------------------------
def test_answer_streams_in_word_steps_and_markers_come_with_complete_sentences() -> None:
    steps = list(stream_pieces(answer(), words_per_step=4))
    first_sentence = "One two three four five six seven eight nine ten eleven."
    assert [s[0][0] for s in steps[:3]] == ["One two three four",
                                            "One two three four five six seven eight",
                                            first_sentence]
    assert all(s[0][1] == () for s in steps[:2]) and steps[2][0][1] == (1,)
    assert steps[-1] == ((first_sentence, (1,)), ("A second short sentence.", (2,)))


def test_chat_turn_yields_question_first_then_growing_answer_then_done() -> None:
    views = list(chat_turn(lambda q, k, d: answer(q), "What?", [], words_per_step=4))
    assert views[0].pieces == () and not views[0].done
    assert 'aria-busy="true"' in views[0].transcript_html  # the question shows at once
    assert [v.done for v in views] == [False] * (len(views) - 1) + [True]
    assert views[-1].pieces is None
    shown = [len("".join(assert_inert(v.transcript_html).text)) for v in views[1:]]
    assert shown[:-1] == sorted(set(shown[:-1]))  # grows at every step ...
    assert shown[-1] == shown[-2]  # ... and the last step only closes the answer
    final = views[-1].transcript_html
    assert final.count('class="cw-cite"') == 2 and 'aria-busy' not in final


def test_abstention_has_its_own_look_and_no_sources() -> None:
    empty = Answer("q", (), (), (), abstained=True)
    view = list(chat_turn(lambda q, k, d: empty, "Capital of Australia?", []))[-1]
    html = view.transcript_html
    assert 'data-kind="abstain"' in html and "cw-abstain" in html
    assert render.esc(ABSTAIN_TEXT) in html and "cw-cite" not in html
    assert "cw-source\"" not in view.sources_html and render.EMPTY_SOURCES in view.sources_html


def test_errors_and_bad_input_become_messages() -> None:
    def missing(q: str, k: int | None, d: list[str] | None) -> Answer:
        raise IndexMissingError("No index at x: run `citewise ingest` first.")

    view = list(chat_turn(missing, "anything", []))[-1]
    assert view.turns[-1].error is not None
    assert 'data-kind="error"' in view.transcript_html and "citewise ingest" in \
        view.transcript_html
    bad_mode = list(chat_turn(lambda q, k, d: answer(), "x", [], mode="generative"))[-1]
    assert "not available" in (bad_mode.turns[-1].error or "")
    blank = list(chat_turn(lambda q, k, d: answer(), "   ", []))
    assert blank == [ChatView((), notes=("Type a question first.",))]


# -- safe HTML -------------------------------------------------------------------------------
def test_highlight_marks_exactly_the_cited_span() -> None:
    c = citation(passage="Before. The quoted sentence. After.", passage_start=40)
    html = render.highlight(c)
    assert html == 'Before. <mark class="cw-quote">The quoted sentence.</mark> After.'


def test_highlight_escapes_inside_and_around_the_mark() -> None:
    passage = "<b>x</b> The quoted sentence. <script>y</script>"
    html = render.highlight(citation(passage=passage))
    assert "<mark class=\"cw-quote\">The quoted sentence.</mark>" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "&lt;script&gt;" in html


def test_document_text_stays_text_everywhere_it_is_shown() -> None:
    c = citation(passage=f"{XSS} The quoted sentence. {XSS}", title=f"T {XSS}",
                 doc_id=f"{XSS}.txt")
    a = answer(sentences=(AnswerSentence(f"The quoted sentence {XSS}.", (1,)),),
               citations=(c,))
    turn = Turn(f"Q {XSS}", f"query {XSS}", "t", a)
    for html in (render.esc(XSS), render.highlight(c), render.marker(1, c),
                 render.sources_card(1, c)):
        assert_inert(html)
    m = assert_inert(ChatView((turn,)).transcript_html)
    assert any(XSS in t for t in m.text)  # shown, as text
    assert_inert(ChatView((turn,)).sources_html)
    row = type("Row", (), {"doc_id": XSS, "title": XSS, "file": XSS, "chunks": 1,
                           "ingested": XSS})()
    assert_inert(render.documents_table([row]))
    assert_inert(render.status(False, XSS, [(XSS, XSS)]))
    streaming = ChatView((turn,), pieces=((f"The {XSS}", ()),), done=False)
    assert_inert(streaming.transcript_html)


def test_markers_link_to_their_source_cards() -> None:
    view = ChatView((Turn("q", "q", "q", answer()), Turn("r", "r", "r", answer())))
    transcript, sources = view.transcript_html, view.sources_html
    for turn_no in (1, 2):
        for n in (1, 2):
            assert f'href="#cw-src-{turn_no}-{n}"' in transcript
            assert f'id="cw-src-{turn_no}-{n}"' in sources
    assert sources.index('id="cw-src-2-1"') < sources.index('id="cw-src-1-1"')  # newest first


# -- documents -------------------------------------------------------------------------------
def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


NEW_DOC = ("Thymoma and myasthenia gravis\n\nThymoma is a tumour of the thymus gland. About "
           "a third of patients with thymoma develop myasthenia gravis, an autoimmune "
           "disease of the neuromuscular junction. Thymectomy is the usual treatment for "
           "thymoma with myasthenia gravis.\n")


def test_list_and_view_documents(service: Citewise) -> None:
    docs = Documents(service)
    assert docs.rows() == []  # no index yet: an empty list, not an error
    service.ingest()
    rows = docs.rows()
    assert [r.doc_id for r in rows] == ["000_ca9eb5d6de5c83e8.txt", "004_5e456227b6f932b4.txt"]
    assert all(r.chunks > 0 and r.title and len(r.ingested) == 16 for r in rows)
    text = docs.text(rows[0].doc_id)
    assert text is not None and text.startswith(rows[0].title)
    assert docs.text("nope.txt") is None


def test_upload_adds_answerable_document_and_reports_each_bad_file(
        service: Citewise, tmp_path: Path) -> None:
    service.ingest()
    docs = Documents(service)
    up = tmp_path / "up"
    up.mkdir()
    files = [write(up, "thymoma.txt", NEW_DOC), write(up, "tool.exe", "MZ"),
             write(up, "empty.md", ""), write(up, ".hidden.txt", "x"),
             write(up, "004_5e456227b6f932b4.txt", "clash"),
             (up / "broken.pdf"), write(up, "big.txt", "x" * 2000)]
    files[5].write_bytes(b"%PDF-1.4 truncated")
    service.settings.max_upload_mb = 0.001  # 1000 bytes
    seen: list[tuple[float, str]] = []
    out = docs.upload(files, progress=lambda f, what: seen.append((f, what)))
    assert out.ok and out.saved == ["thymoma.txt"]
    reasons = dict(out.errors)
    assert "unsupported file type '.exe'" in reasons["tool.exe"]
    assert reasons["empty.md"] == "the file is empty"
    assert "hidden" in reasons[".hidden.txt"]
    assert "already in the sources folder" in reasons["004_5e456227b6f932b4.txt"]
    assert "PDF" in reasons["broken.pdf"]  # the ingest could not read it ...
    assert not (service.settings.sources_dir / "broken.pdf").exists()  # ... so it is gone
    assert "upload limit" in reasons["big.txt"]
    assert seen[0][0] == 0.0 and seen[-1][0] == 1.0
    assert "thymoma.txt" in [r.doc_id for r in docs.rows()]
    reply = service.ask("Is thymectomy the treatment for thymoma with myasthenia gravis?")
    assert not reply.abstained and reply.citations[0].doc_id == "thymoma.txt"


def test_upload_of_nothing_acceptable_saves_nothing(service: Citewise, tmp_path: Path) -> None:
    service.ingest()
    out = Documents(service).upload([write(tmp_path, "notes.docx", "x")])
    assert not out.ok and out.message == "Nothing was added:" and out.saved == []
    assert sorted(p.name for p in service.settings.sources_dir.iterdir()) == \
        ["000_ca9eb5d6de5c83e8.txt", "004_5e456227b6f932b4.txt"]
    assert not Documents(service).upload([]).ok


def test_upload_names_are_reduced_to_a_safe_base_name(tmp_path: Path) -> None:
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("C:\\x\\a<b>.md") == "a_b_.md"
    src = write(tmp_path, "x.txt", "text")
    sources = tmp_path / "sources"
    out = save_uploads([src], sources, 10_000, names=["../../escape.txt"])
    assert out.saved == ["escape.txt"] and (sources / "escape.txt").exists()
    assert not (tmp_path / "escape.txt").exists()


def test_delete_removes_file_and_index_entry(service: Citewise) -> None:
    service.ingest()
    docs = Documents(service)
    out = docs.delete("000_ca9eb5d6de5c83e8.txt")
    assert out.ok and out.summary is not None and out.summary.removed == \
        ["000_ca9eb5d6de5c83e8.txt"]
    assert not (service.settings.sources_dir / "000_ca9eb5d6de5c83e8.txt").exists()
    assert [r.doc_id for r in docs.rows()] == ["004_5e456227b6f932b4.txt"]
    assert not docs.delete("000_ca9eb5d6de5c83e8.txt").ok  # not in the index any more
    assert not docs.delete("").ok
    last = docs.delete("004_5e456227b6f932b4.txt")  # the last one: the folder is empty now
    assert last.ok and docs.rows() == []


def test_delete_refuses_documents_outside_the_sources_folder(
        service: Citewise, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    write(outside, "other.txt", NEW_DOC)
    service.ingest()
    service.ingest([outside / "other.txt"])
    docs = Documents(service)
    doc_id = next(r.doc_id for r in docs.rows() if r.doc_id.endswith("other.txt"))
    out = docs.delete(doc_id)
    assert not out.ok and "not in the sources folder" in out.message
    assert (outside / "other.txt").exists()


def test_reingest_syncs_and_one_change_runs_at_a_time(service: Citewise) -> None:
    docs = Documents(service)
    first = docs.reingest()
    assert first.ok and first.message.startswith("2 added")
    write(service.settings.sources_dir, "thymoma.txt", NEW_DOC)
    (service.settings.sources_dir / "bad.pdf").write_bytes(b"%PDF-1.4 truncated")
    second = docs.reingest()
    assert second.ok and second.message.startswith("1 added") and "Could not read" in \
        second.message
    assert [name for name, _ in second.errors] == ["bad.pdf"]
    with docs._writing:
        assert docs.reingest().message == BUSY
        assert docs.delete("thymoma.txt").message == BUSY


def test_reingest_while_questions_are_asked(service: Citewise) -> None:
    """Questions keep being answered while the UI re-ingests (one process, two threads)."""
    service.ingest()
    docs = Documents(service)
    write(service.settings.sources_dir, "thymoma.txt", NEW_DOC)
    errors: list[BaseException] = []
    answers: list[Answer] = []
    done = threading.Event()

    def keep_asking() -> None:
        while not done.is_set() or len(answers) < 5:
            try:
                answers.append(service.ask("voltage-gated calcium channels LEMS"))
            except BaseException as exc:  # noqa: BLE001  any failure counts
                errors.append(exc)
                return

    askers = [threading.Thread(target=keep_asking) for _ in range(3)]
    for t in askers:
        t.start()
    try:
        out = docs.reingest()
    finally:
        done.set()
        for t in askers:
            t.join(timeout=60)
    assert out.ok and out.summary is not None and out.summary.added == ["thymoma.txt"]
    assert errors == [] and all(not a.abstained for a in answers)
    assert "thymoma.txt" in [r.doc_id for r in docs.rows()]


# -- feedback and export ---------------------------------------------------------------------
def test_feedback_is_appended_as_json_lines(tmp_path: Path) -> None:
    folder = tmp_path / "feedback"
    turn = Turn(QUESTION, QUESTION, TOPIC, answer(QUESTION), k=5, doc_ids=("a.txt",))
    assert "Ask a question first" in record_feedback(folder, [], "up")
    assert not folder.exists()
    record_feedback(folder, [turn], "up")
    record_feedback(folder, [turn], "down", "  wrong passage  ")
    first, second = read_feedback(folder)
    assert (first["rating"], first["comment"]) == ("up", "")
    assert (second["rating"], second["comment"]) == ("down", "wrong passage")
    assert second["question"] == QUESTION and second["k"] == 5 and second["doc_ids"] == ["a.txt"]
    assert second["citations"][0] == {"id": 1, "source": "doc.txt", "start": 108, "end": 128,
                                      "quote": "The quoted sentence."}
    with pytest.raises(ValueError, match="rating"):
        record_feedback(folder, [turn], "meh")


def test_concurrent_feedback_lines_never_interleave(tmp_path: Path) -> None:
    turn = Turn("q", "q", "q", answer(), error=None)
    threads = [threading.Thread(target=record_feedback,
                                args=(tmp_path, [turn], "up", "c" * 5000)) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = (tmp_path / "feedback.jsonl").read_text().splitlines()
    assert len(lines) == 20 and all(json.loads(line)["rating"] == "up" for line in lines)


def test_export_has_answers_with_citations_and_escapes_document_markdown() -> None:
    c = citation(passage=f"{XSS} The quoted sentence.", title="Guide ![x](http://e.invalid/y)")
    cited = answer(QUESTION, (AnswerSentence("The quoted sentence.", (1,)),), (c,))
    turns = [Turn(QUESTION, QUESTION, TOPIC, cited),
             Turn("And how is it treated?", "How is it treated there?", TOPIC,
                  Answer("x", (), (), (), abstained=True)),
             Turn("boom", "boom", "", error="No index: run `citewise ingest` first.")]
    md = export_markdown(turns, now=0)
    assert f"## Q1. {md_escape(QUESTION)}" in md
    assert "The quoted sentence. \\[1\\]" in md
    assert ("- \\[1\\] Guide \\!\\[x\\]\\(http://e.invalid/y\\) › Section (`doc.txt`, "
            f"characters {c.start}–{c.end})") in md
    assert "  > The quoted sentence." in md
    assert "*Searched for:* How is it treated there?" in md
    assert f"**{md_escape(ABSTAIN_TEXT)}**" in md and "**Error:**" in md
    assert "![" not in md and "<script" not in md and "](" not in md
    assert "(No questions yet.)" in export_markdown([])


# -- serving ---------------------------------------------------------------------------------
def test_settings_for_the_web_ui(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings(_env_file=None)
    assert (defaults.host, defaults.port, defaults.auth_username, defaults.auth_password) == \
        ("127.0.0.1", 7860, None, None)
    monkeypatch.setenv("CITEWISE_PORT", "8080")
    monkeypatch.setenv("CITEWISE_AUTH_PASSWORD", "s3cret")
    monkeypatch.setenv("CITEWISE_AUTH_USERNAME", "ann")
    monkeypatch.setenv("CITEWISE_CONCURRENCY_LIMIT", "2")
    s = Settings(_env_file=None)
    assert s.port == 8080 and s.concurrency_limit == 2
    assert "s3cret" not in repr(s)  # the password never shows in logs
    assert auth_pair(s) == ("ann", "s3cret")


def test_launch_options_are_safe_by_default(tmp_path: Path) -> None:
    s = Settings(index_dir=tmp_path / "index", sources_dir=tmp_path / "src", _env_file=None)
    opts = launch_options(s)
    assert opts["server_name"] == "127.0.0.1" and opts["share"] is False
    assert opts["auth"] is None and opts["allowed_paths"] == []
    assert opts["ssr_mode"] is False and opts["mcp_server"] is False
    assert opts["max_file_size"] == 20_000_000
    blocked = set(opts["blocked_paths"])
    for p in (tmp_path / "index", tmp_path / "src", Path.cwd(), Path.cwd() / ".env"):
        assert str(p.absolute()) in blocked
    assert blocked == set(blocked_paths(s))


def test_login_needs_both_name_and_password() -> None:
    with pytest.raises(ConfigError, match="both"):
        auth_pair(Settings(auth_username="ann", _env_file=None))
    with pytest.raises(ConfigError, match="both"):
        auth_pair(Settings(auth_password="x", _env_file=None))


@pytest.mark.parametrize("path", [
    "/gradio_api/file=../../etc/passwd", "/file=..%2f..%2fetc%2fpasswd",
    "/gradio_api/file=%252e%252e/%252e%252e/etc/passwd", "/gradio_api/file=http://x.invalid/a",
    "/gradio_api/file=https:%2f%2fx.invalid/a", "/gradio_api/file=//x.invalid/a",
    "/file/..\\..\\secret", "/gradio_api/file=data/../.env",
])
def test_guard_refuses_urls_and_parent_paths(path: str) -> None:
    assert refused(path)


@pytest.mark.parametrize("path", ["/", "/gradio_api/file=/tmp/gradio/abc/x.md",
                                  "/assets/index.js", "/gradio_api/queue/join"])
def test_guard_lets_ordinary_requests_through(path: str) -> None:
    assert not refused(path)


def test_guard_adds_security_headers_and_answers_refusals_itself() -> None:
    import asyncio

    sent: list[dict] = []
    reached: list[str] = []

    async def app(scope: dict, receive: object, send) -> None:
        reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def send(message: dict) -> None:
        sent.append(message)

    async def run(path: str) -> None:
        scope = {"type": "http", "path": path, "raw_path": path.encode()}
        await Guard(app)(scope, None, send)

    asyncio.run(run("/"))
    headers = dict(sent[0]["headers"])
    assert b"default-src 'self'" in headers[b"content-security-policy"]
    assert headers[b"x-content-type-options"] == b"nosniff"
    sent.clear()
    asyncio.run(run("/gradio_api/file=../../etc/passwd"))
    assert sent[0]["status"] == 403 and reached == ["/"]


def test_pure_modules_do_not_import_gradio() -> None:
    code = ("import sys, app.cli, app.chat, app.documents, app.feedback, app.render, "
            "app.server; assert 'gradio' not in sys.modules, 'gradio imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_serve_command_help_and_login_check(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    from click.testing import CliRunner

    from app.cli import cli

    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0 and "--host" in result.output and "--port" in result.output
    monkeypatch.setenv("CITEWISE_AUTH_USERNAME", "ann")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 1 and "CITEWISE_AUTH_PASSWORD" in result.output
    assert "Traceback" not in result.output
