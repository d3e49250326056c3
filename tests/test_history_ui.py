"""The web chat's conversations as plain functions (`app.web.conversations`): a completed
turn is stored, a new chat becomes a conversation with its first turn, a reopened one
shows its transcript and source cards (marked where the source changed since), the
sidebar lists newest first, export works from a reopened conversation, and a history that
cannot be written never stops the chat. No gradio."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from app.history import FILENAME, History, SavedConversation
from app.web import render
from app.web.conversations import choices, label, record_turn, reopen, safe_document_text
from app.web.feedback import export_markdown
from app.web.turn import CHANGED_NOTE, chat_turn, sources_html, transcript_html
from ingest.errors import IndexMissingError
from tests.conftest import QUESTION
from tests.ui_samples import FakeAnswerer, answer, assert_inert, citation

TEXT = " " * 100 + "Before. The quoted sentence. After."  # where citation() points


def completed(question: str, earlier=()):
    return list(chat_turn(FakeAnswerer(lambda q, k, d: answer(q)), question, earlier,
                          words_per_step=100))[-1].turns


@pytest.fixture
def history(tmp_path: Path) -> History:
    with History(tmp_path / FILENAME) as h:
        yield h


def test_a_new_chat_becomes_a_conversation_with_its_first_turn(history: History) -> None:
    turns = completed(QUESTION)
    first = record_turn(history, None, turns)
    assert first.note == "" and first.conversation_id is not None
    assert first.turns[-1].history_id is not None
    follow = completed("And how is it treated?", first.turns)
    second = record_turn(history, first.conversation_id, follow)
    assert second.conversation_id == first.conversation_id
    assert [t.history_id is not None for t in second.turns] == [True, True]
    [listed] = history.conversations()
    assert (listed.title, listed.turns) == (QUESTION, 2)
    stored = history.turns(listed.id)
    assert [t.query for t in stored] == [QUESTION,
                                         "How is paraneoplastic muscle weakness treated?"]


def test_a_reopened_conversation_shows_its_transcript_sources_and_exports(
        history: History) -> None:
    recorded = record_turn(history, None, completed(QUESTION))
    recorded = record_turn(history, recorded.conversation_id,
                           completed("And how is it treated?", recorded.turns))
    live = recorded.turns
    texts = {"doc.txt": TEXT}
    again = reopen(history, recorded.conversation_id, texts.get)
    assert transcript_html(again) == transcript_html(live)  # the same page after a restart
    assert sources_html(again) == sources_html(live)
    assert again[1].topic == live[1].topic  # a follow-up after reopening is in context
    assert 'id="cw-src-2-1"' in sources_html(again)
    assert "cw-changed" not in sources_html(again)
    md = export_markdown(again, now=0)
    assert f"## Q1. {QUESTION}" in md and "The quoted sentence." in md
    assert "source changed since" not in md


def test_citations_into_a_changed_or_removed_document_are_marked(history: History) -> None:
    cites = (citation(1, doc_id="kept.txt"), citation(2, doc_id="gone.txt"))
    turns = list(chat_turn(FakeAnswerer(lambda q, k, d: answer(q, citations=cites)),
                           QUESTION, [], words_per_step=100))[-1].turns
    cid = record_turn(history, None, turns).conversation_id
    [turn] = reopen(history, cid, {"kept.txt": TEXT}.get)  # gone.txt was deleted
    assert turn.changed == frozenset({2})
    html = sources_html([turn])
    assert html.count('class="cw-source-changed"') == 1
    assert html.index("cw-source-changed") > html.index('id="cw-src-1-1"')
    assert render.CHANGED_LABEL in html and "The quoted sentence." in html  # stored passage
    assert CHANGED_NOTE in transcript_html([turn])
    assert_inert(html)
    md = export_markdown([turn], now=0)
    assert "(`gone.txt`, characters 108–128) — source changed since" in md
    assert "(`kept.txt`, characters 108–128)\n" in md


def test_the_index_gone_counts_as_every_source_changed() -> None:
    def missing(doc_id: str) -> str | None:
        raise IndexMissingError("No index at data/index: run `citewise ingest` first.")

    assert safe_document_text(missing)("doc.txt") is None


def test_the_sidebar_lists_web_conversations_newest_first(history: History) -> None:
    a = record_turn(history, None, completed("First question?")).conversation_id
    b = record_turn(history, None, completed("Second question?")).conversation_id
    history.new_conversation("API call", origin="api")
    listed = choices(history)
    assert [cid for _, cid in listed] == [b, a]
    assert listed[0][0].startswith("Second question? · ")
    assert choices(None) == []


def test_labels_show_the_time_today_and_the_date_before() -> None:
    when = datetime(2026, 3, 4, 9, 5).timestamp()
    conv = SavedConversation("id", "Title", "web", when, when)
    assert label(conv, now=datetime(2026, 3, 4, 18, 0)) == "Title · 09:05"
    assert label(conv, now=datetime(2026, 5, 1)) == "Title · 4 Mar 2026"


def test_a_deleted_conversation_takes_the_next_turn_into_a_new_one(history: History) -> None:
    first = record_turn(history, None, completed(QUESTION))
    history.delete(first.conversation_id)  # in another tab
    again = record_turn(history, first.conversation_id,
                        completed("And how is it treated?", first.turns))
    assert again.conversation_id != first.conversation_id and again.note == ""
    assert [c.turns for c in history.conversations()] == [1]


def test_a_history_that_cannot_be_written_never_stops_the_chat(tmp_path: Path) -> None:
    bad = tmp_path / FILENAME
    bad.write_bytes(b"not a database " * 200)
    turns = completed(QUESTION)
    recorded = record_turn(History(bad), None, turns)
    assert recorded.turns == tuple(turns)  # shown as answered, nothing lost
    assert recorded.note.startswith("This turn was not saved: The chat history")
    assert "move it away" in recorded.note
    assert choices(History(bad)) == []
    assert record_turn(None, None, turns).turns == tuple(turns)  # history turned off


def test_a_reopened_generated_answer_shows_its_verdicts(history: History) -> None:
    from app.answer.types import AnswerSentence

    sents = (AnswerSentence("LEMS is caused by antibodies.", (1,), 0.8, True),
             AnswerSentence("It is always fatal.", (), 0.1, False, "no source says so"))
    gen = FakeAnswerer(lambda q, k, d: answer(q, sentences=sents, citations=(citation(1),)))
    live = list(chat_turn(gen, QUESTION, [], words_per_step=100))[-1].turns
    cid = record_turn(history, None, live).conversation_id
    again = reopen(history, cid, {"doc.txt": TEXT}.get)
    html = transcript_html(again)
    assert html == transcript_html(live)
    assert 'data-supported="true"' in html and 'data-supported="false"' in html
    assert "It is always fatal." in html and render.REMOVED_LABEL in html
