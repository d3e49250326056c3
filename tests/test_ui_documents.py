"""The Documents tab and feedback as plain functions: list, view, upload (each refused file
with its reason), delete, re-ingest while questions are asked; feedback lines and the
Markdown export. No gradio here."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from app.answer.types import ABSTAIN_TEXT, Answer, AnswerSentence
from app.service import Citewise
from app.web.documents import BUSY, Documents, safe_name, save_uploads
from app.web.feedback import export_markdown, md_escape, read_feedback, record_feedback
from app.web.turn import Turn
from tests.conftest import QUESTION
from tests.ui_samples import NEW_DOC, TOPIC, XSS, answer, citation


# -- documents -------------------------------------------------------------------------------
def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


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
    out = Documents(service).upload([write(tmp_path, "notes.rtf", "x")])
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
