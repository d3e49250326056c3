"""The chat as plain functions: follow-up rewriting by rules, extractive answers streaming
word by word, abstentions and errors as messages, and safe HTML. No gradio here
(generative answers are in test_ui_generative.py, the launched app in test_ui_app.py, the
page in test_ui_browser.py)."""

from __future__ import annotations

import pytest

from app.answer.types import ABSTAIN_TEXT, Answer, AnswerSentence
from app.web import render
from app.web.turn import ChatView, Turn, chat_turn, rewrite_query, stream_pieces, topic_of
from ingest.errors import IndexMissingError
from tests.conftest import QUESTION
from tests.ui_samples import TOPIC, XSS, FakeAnswerer, answer, assert_inert, citation

# -- follow-up questions ----------------------------------------------------------------------

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
    service = FakeAnswerer(lambda q, k, d: answer(q))
    first = list(chat_turn(service, QUESTION, [], k=3, words_per_step=100))[-1]
    second = list(chat_turn(service, "And how is it treated?", first.turns, k=3,
                            doc_ids=["a.txt"], words_per_step=100))[-1]
    assert [q for q, _, _, _ in service.asked] == [
        QUESTION, "How is paraneoplastic muscle weakness treated?"]
    assert service.asked[1][1:] == (3, ["a.txt"], "extractive")
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
    views = list(chat_turn(FakeAnswerer(lambda q, k, d: answer(q)), "What?", [],
                           words_per_step=4))
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
    view = list(chat_turn(FakeAnswerer(lambda q, k, d: empty), "Capital of Australia?",
                          []))[-1]
    html = view.transcript_html
    assert 'data-kind="abstain"' in html and "cw-abstain" in html
    assert render.esc(ABSTAIN_TEXT) in html and "cw-cite" not in html
    assert "cw-source\"" not in view.sources_html and render.EMPTY_SOURCES in view.sources_html


def test_errors_and_bad_input_become_messages() -> None:
    def missing(q: str, k: int | None, d: list[str] | None) -> Answer:
        raise IndexMissingError("No index at x: run `citewise ingest` first.")

    view = list(chat_turn(FakeAnswerer(missing), "anything", []))[-1]
    assert view.turns[-1].error is not None
    assert 'data-kind="error"' in view.transcript_html and "citewise ingest" in \
        view.transcript_html
    blank = list(chat_turn(FakeAnswerer(lambda q, k, d: answer()), "   ", []))
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
