"""The chat history in the launched web UI, through `gradio_client` (fake embedder): turns
are stored as they complete, the sidebar lists conversations newest first, another
session (as after a reload or restart) reopens one with its source cards and exports it,
feedback is kept with its turn, rename and delete work, New chat starts another, and a
document changed since is marked "source changed since"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import QUESTION
from tests.fakes import HashingEmbedder
from tests.ui_server import Served, running_ui

if TYPE_CHECKING:
    from gradio_client import Client

pytestmark = pytest.mark.slow  # a launched server and re-ingests: ~50 s for the module

FOLLOW_UP = "And how is it treated?"


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    # -1.4: the fake embedder's scores are low, and every answer should cite.
    with running_ui(tmp_path_factory.mktemp("history-ui"), embedder=HashingEmbedder(),
                    abstain_threshold=-1.4) as served:
        yield served


def client(ui: Served) -> Client:
    from gradio_client import Client  # after tests.ui_server turned telemetry off

    return Client(ui.url, verbose=False, download_files=str(ui.root / "downloads"))


def ask(c: Client, question: str) -> str:
    transcript, _, _ = c.predict(question, 5, [], "extractive", api_name="/chat")
    return transcript


def conversations(c: Client) -> list[dict]:
    return c.predict(api_name="/conversations")


def open_conversation(c: Client, cid: str) -> tuple[str, str, str, str]:
    c.predict(api_name="/list_conversations")  # this session's sidebar list, as on load
    return c.predict(cid, api_name="/open_conversation")


def test_a_conversation_is_reopened_by_another_session_with_sources_and_export(
        ui: Served) -> None:
    first = client(ui)
    ask(first, QUESTION)
    live = ask(first, FOLLOW_UP)
    listed = conversations(first)[0]
    assert (listed["title"], listed["turns"]) == (QUESTION, 2)
    listing = first.predict(api_name="/list_conversations")
    assert listing["choices"][0][1] == listed["id"] and \
        listing["choices"][0][0].startswith(QUESTION)

    again = client(ui)  # a reload: a new session with no turns of its own
    transcript, sources, title, status = open_conversation(again, listed["id"])
    assert status == "" and title == QUESTION
    assert transcript == live  # the same transcript as when it was answered
    assert 'id="cw-src-1-1"' in sources and 'id="cw-src-2-1"' in sources
    assert "cw-changed" not in sources
    update = again.predict(api_name="/export_conversation")
    text = Path(update["value"]).read_text()
    assert f"## Q1. {QUESTION}" in text and "## Q2. And how is it treated?" in text
    assert "*Searched for:* How is paraneoplastic muscle weakness treated?" in text

    status, _ = again.predict("wrong passage", api_name="/rate_down")  # the last turn
    assert "recorded" in status
    turns = ui.service.history.turns(listed["id"])
    assert [t.feedback.rating if t.feedback else None for t in turns] == [None, "down"]
    assert turns[1].feedback.comment == "wrong passage"

    follow = ask(again, "What about children?")  # goes on in the reopened conversation
    assert follow.count('class="cw-msg cw-user"') == 3
    assert conversations(again)[0]["turns"] == 3


def test_new_chat_rename_and_delete(ui: Served) -> None:
    c = client(ui)
    ask(c, "How common is LEMS in small cell lung cancer?")
    c.predict(api_name="/new_chat")
    ask(c, "Which drug improved the neuromyopathy in the sicca syndrome case?")
    top, second = conversations(c)[:2]
    assert top["title"].startswith("Which drug improved") and top["turns"] == 1
    assert second["title"] == "How common is LEMS in small cell lung cancer?"

    status = c.predict("Sicca syndrome drug", api_name="/rename_conversation")
    assert 'data-ok="true"' in status
    assert conversations(c)[0]["title"] == "Sicca syndrome drug"
    status = c.predict("   ", api_name="/rename_conversation")
    assert 'data-ok="false"' in status and "cannot be empty" in status

    transcript, _, _, status = c.predict(api_name="/delete_conversation")
    assert "Conversation deleted." in status and "cw-empty" in transcript
    assert top["id"] not in {x["id"] for x in conversations(c)}
    assert second["id"] in {x["id"] for x in conversations(c)}


def test_a_document_changed_since_is_marked_and_its_passage_kept(ui: Served) -> None:
    c = client(ui)
    ask(c, "Which drug improved the neuromyopathy in the sicca syndrome case?")
    cid = conversations(c)[0]["id"]
    [turn] = ui.service.history.turns(cid)
    cited = turn.answer.citations[0]
    path = ui.sources / cited.doc_id
    original = path.read_text()
    try:
        path.write_text(original.replace(cited.quote, "This sentence was rewritten."))
        ui.service.ingest()
        _, sources, _, _ = open_conversation(client(ui), cid)
        assert "source changed since" in sources
        assert cited.quote[:40] in sources  # the stored passage, as it was cited
    finally:
        path.write_text(original)
        ui.service.ingest()
    _, sources, _, _ = open_conversation(client(ui), cid)
    assert "source changed since" not in sources


def test_history_off_keeps_nothing_and_hides_the_sidebar(tmp_path: Path) -> None:
    with running_ui(tmp_path, embedder=HashingEmbedder(), abstain_threshold=-1.4,
                    history=False) as served:
        c = client(served)
        assert 'class="cw-cite"' in ask(c, QUESTION)
        assert conversations(c) == []
        sidebar = next(b for b in served.demo.blocks.values()
                       if getattr(b, "elem_id", None) == "cw-sidebar")
        assert sidebar.visible is False
    assert served.service.history is None
    assert not served.service.settings.history_file.exists()
