"""The chat history store (`app.history`): conversations and turns in SQLite that come back
whole from another `History` on the same file, newest first, renamed, deleted, with
feedback; bad files get one sentence; citations into changed or removed documents are
found. No gradio, no model."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from app.answer.types import Answer, AnswerSentence
from app.config import Settings
from app.history import (
    FILENAME,
    History,
    SavedTurn,
    answer_from_json,
    answer_json,
    changed_citations,
    title_of,
)
from ingest.errors import CitewiseError, HistoryError
from tests.ui_samples import answer, citation


def generated() -> Answer:
    """A verified generative answer: one sentence kept, one removed, timings."""
    sents = (AnswerSentence("LEMS is caused by antibodies.", (1,), 0.81, True, "supported"),
             AnswerSentence("It is always fatal.", (), 0.12, False, "no source says so"))
    return Answer("What causes LEMS?", sents, (citation(1),), (), abstained=False,
                  mode="generative", timings={"retrieve_ms": 12.345, "generate_ms": 900.0},
                  generator="qwen", note="a note")


@pytest.fixture
def history(tmp_path: Path) -> History:
    with History(tmp_path / FILENAME) as h:
        yield h


def test_a_turn_comes_back_whole_from_another_store_on_the_file(history: History) -> None:
    cid = history.new_conversation()
    stored = history.add_turn(cid, SavedTurn("What causes LEMS?", "What causes LEMS?",
                                             generated(), k=4, doc_ids=("a.txt",)))
    assert stored.id is not None and stored.seq == 1 and stored.created > 0
    history.close()
    with History(history.path) as again:  # as after a restart
        [turn] = again.turns(cid)
    assert turn == stored  # question, query, k, doc_ids, ids and the whole answer
    a = turn.answer
    assert a is not None and a.mode == "generative" and turn.mode == "generative"
    assert [s.supported for s in a.sentences] == [True, False]  # the verdicts
    assert a.sentences[1].reason == "no source says so"
    c = a.citations[0]
    assert (c.quote, c.start, c.end, c.passage_start) == (
        "The quoted sentence.", 108, 128, 100)  # the spans
    assert a.timings == {"retrieve_ms": 12.345, "generate_ms": 900.0}
    assert a.text == "LEMS is caused by antibodies. [1]"


def test_answer_json_keeps_the_citation_json_and_drops_the_retrieved_passages() -> None:
    data = answer_json(generated())
    assert "retrieved" not in data
    assert data["citations"][0] == {**citation(1).to_json(), "passage_start": 100}
    assert answer_from_json(json.loads(json.dumps(data))) == generated()


def test_conversations_are_listed_newest_first_titled_by_the_first_question(
        history: History) -> None:
    first = history.new_conversation()
    second = history.new_conversation()
    history.add_turn(second, SavedTurn("Second chat question?", "q", answer()))
    history.add_turn(first, SavedTurn("  First   chat\nquestion? ", "q", answer()))
    history.add_turn(first, SavedTurn("A follow-up", "q", answer()))
    listed = history.conversations()
    assert [c.id for c in listed] == [first, second]  # the one last active on top
    assert [c.title for c in listed] == ["First chat question?", "Second chat question?"]
    assert [c.turns for c in listed] == [2, 1]
    assert [t.seq for t in history.turns(first)] == [1, 2]
    assert history.conversations(limit=1)[0].id == first


def test_origin_separates_api_conversations(history: History) -> None:
    web = history.new_conversation()
    api = history.new_conversation("from the API", origin="api", conversation_id="api-1")
    assert api == "api-1"
    assert [c.id for c in history.conversations(origin="api")] == ["api-1"]
    assert [c.id for c in history.conversations(origin="web")] == [web]
    with pytest.raises(HistoryError, match="already in the history"):
        history.new_conversation(conversation_id="api-1")


def test_rename_delete_and_clear(history: History) -> None:
    a, b = history.new_conversation(), history.new_conversation()
    history.add_turn(a, SavedTurn("Question A", "q", answer()))
    history.rename(a, "  Renamed\n chat ")
    assert history.conversation(a).title == "Renamed chat"
    history.add_turn(a, SavedTurn("Another question", "q", answer()))
    assert history.conversation(a).title == "Renamed chat"  # a renamed title stays
    with pytest.raises(HistoryError, match="cannot be empty"):
        history.rename(a, "   ")
    history.delete(a)
    assert history.conversation(a) is None and [c.id for c in history.conversations()] == [b]
    with pytest.raises(HistoryError, match="No conversation"):
        history.turns(a)
    with pytest.raises(HistoryError, match="No conversation"):
        history.add_turn(a, SavedTurn("late", "late"))
    with sqlite3.connect(history.path) as db:  # its turns went with it
        assert db.execute("SELECT COUNT(*) FROM turns").fetchone()[0] == 0
    assert history.clear() == 1 and history.conversations() == []


def test_feedback_is_kept_with_its_turn(history: History) -> None:
    cid = history.new_conversation()
    turn = history.add_turn(cid, SavedTurn("Q", "q", answer()))
    history.set_feedback(turn.id, "down", " wrong passage ")
    history.set_feedback(turn.id, "up", "")  # a second rating replaces the first
    fb = history.turns(cid)[0].feedback
    assert fb is not None and (fb.rating, fb.comment) == ("up", "") and fb.time > 0
    with pytest.raises(HistoryError, match="one of up, down"):
        history.set_feedback(turn.id, "meh")  # type: ignore[arg-type]
    with pytest.raises(HistoryError, match="No turn 999"):
        history.set_feedback(999, "up")


def test_error_turns_and_abstentions_are_stored_too(history: History) -> None:
    cid = history.new_conversation()
    history.add_turn(cid, SavedTurn("Q1", "Q1", error="No index at data/index: run ingest."))
    history.add_turn(cid, SavedTurn("Q2", "Q2", answer(sentences=(), citations=())))
    err, abstained = history.turns(cid)
    assert err.answer is None and err.error.startswith("No index") and err.mode is None
    assert abstained.answer.abstained and abstained.answer.text == "The sources don't cover this."


def test_file_is_wal_mode_and_default_path_is_kept_by_rebuild(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "index", _env_file=None)
    assert settings.history_file == tmp_path / "index" / FILENAME
    assert Settings(history_path=tmp_path / "h.db", _env_file=None).history_file == \
        tmp_path / "h.db"
    with History(settings.history_file) as h:
        h.add_turn(h.new_conversation(), SavedTurn("Q", "q", answer()))
    with sqlite3.connect(settings.history_file) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    from index.store import Index

    Index.wipe(settings.index_dir)  # what `citewise ingest --rebuild` deletes
    with History(settings.history_file) as h:
        assert len(h.conversations()) == 1


def test_a_file_that_is_not_a_database_gets_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / FILENAME
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(HistoryError, match="is not a SQLite database: move it away") as exc:
        History(bad).conversations()
    assert isinstance(exc.value, CitewiseError)
    assert bad.read_bytes().startswith(b"this is not sqlite")  # nothing overwritten


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / FILENAME
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(HistoryError, match="newer citewise"):
        History(path).conversations()


def test_threads_adding_turns_at_once_lose_none(history: History) -> None:
    cid = history.new_conversation()

    def add(n: int) -> None:
        for i in range(10):
            history.add_turn(cid, SavedTurn(f"Q{n}-{i}", "q", answer()))

    threads = [threading.Thread(target=add, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    turns = history.turns(cid)
    assert [t.seq for t in turns] == list(range(1, 41))
    assert len({t.question for t in turns}) == 40


def test_changed_citations_finds_changed_and_removed_documents() -> None:
    one = citation(1, doc_id="kept.txt")
    two = citation(2, doc_id="edited.txt")
    three = citation(3, doc_id="gone.txt")
    turn = SavedTurn("Q", "q", answer(citations=(one, two, three)))
    text = " " * 100 + one.passage  # the passage where it was
    texts = {"kept.txt": text, "edited.txt": text.replace("quoted", "changed")}
    assert changed_citations(turn, texts.get) == frozenset({2, 3})
    moved = {"kept.txt": "x" + text, "edited.txt": text, "gone.txt": text}
    assert changed_citations(turn, moved.get) == frozenset({1})  # same words, other span
    assert changed_citations(replace(turn, answer=None), texts.get) == frozenset()


def test_titles_are_one_short_line() -> None:
    assert title_of("a\n b ") == "a b"
    long = title_of("word " * 40)
    assert len(long) == 80 and long.endswith("…")


def test_history_command_lists_deletes_and_clears(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from app.cli import cli

    env = {"CITEWISE_INDEX_DIR": str(tmp_path / "index")}
    runner = CliRunner(env=env)
    result = runner.invoke(cli, ["history"])
    assert result.exit_code == 0 and "No chat history yet" in result.output
    with History(tmp_path / "index" / FILENAME) as h:
        a = h.new_conversation()
        h.add_turn(a, SavedTurn("What causes LEMS?", "q", answer()))
        b = h.new_conversation("api chat", origin="api")
    listed = json.loads(runner.invoke(cli, ["history", "--json"]).output)
    assert [(c["id"], c["title"], c["origin"], c["turns"]) for c in listed] == [
        (b, "api chat", "api", 0), (a, "What causes LEMS?", "web", 1)]  # newest first
    out = runner.invoke(cli, ["history"]).output.splitlines()
    assert out[1].startswith(a) and out[1].endswith("  1 turns  What causes LEMS?")
    assert runner.invoke(cli, ["history", "--delete", a]).exit_code == 0
    missing = runner.invoke(cli, ["history", "--delete", a])
    assert missing.exit_code == 1 and "No conversation" in missing.output
    assert "Traceback" not in missing.output
    refused = runner.invoke(cli, ["history", "--clear"], input="n\n")
    assert refused.exit_code == 1 and len(History(tmp_path / "index" / FILENAME)
                                          .conversations()) == 1
    cleared = runner.invoke(cli, ["history", "--clear", "--yes"])
    assert cleared.exit_code == 0 and "Deleted 1 conversation from" in cleared.output
    assert json.loads(runner.invoke(cli, ["history", "--json"]).output) == []
