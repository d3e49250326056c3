"""The web chat's conversations in the chat history (`app.history`), as plain functions.

The Gradio layer (`app.web.app`) keeps, per browser session, the id of the conversation
shown (None for a new chat, which is written to the history with its first completed turn,
so "New chat" clicked twice leaves no empty entry) and maps what these return to its
components:

- `record_turn`: a completed turn (an answer or an error) is stored at once, before the
  page shows it complete; the turn in the page gets its history id (for feedback).
- `reopen`: a stored conversation back as the page's turns, citations whose document has
  changed or gone since marked (`changed_citations`), the stored passages shown.
- `choices`: the sidebar's list, the most recently active first, titled by the first
  question (or the name it was renamed to).

A history that cannot be written (a full disk, a file that is not a database) never stops
the chat: the turn is shown, and the note says why it was not kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from app.conversation import topic_of
from app.history import History, SavedConversation, SavedTurn, changed_citations
from app.web.turn import Turn
from ingest.errors import CitewiseError, HistoryError

log = logging.getLogger(__name__)

DocumentText = Callable[[str], "str | None"]


@dataclass(frozen=True)
class Recorded:
    """After a turn: the conversation it went to, the session's turns (the last one with
    its history id), and a note for the page when it could not be stored."""

    conversation_id: str | None
    turns: tuple[Turn, ...]
    note: str = ""


def saved_turn(turn: Turn) -> SavedTurn:
    return SavedTurn(turn.question, turn.query, turn.answer, turn.error, turn.k,
                     turn.doc_ids)


def web_turns(saved: Sequence[SavedTurn], document_text: DocumentText) -> tuple[Turn, ...]:
    """Stored turns as the page's turns: the topic each carries forward computed again,
    citations into documents changed or removed since marked."""
    turns: list[Turn] = []
    previous = ""
    for s in saved:
        topic = topic_of(s.query) or previous
        turns.append(Turn(s.question, s.query, topic, s.answer, s.error, s.k, s.doc_ids,
                          history_id=s.id, changed=changed_citations(s, document_text)))
        previous = topic
    return tuple(turns)


def record_turn(history: History | None, conversation_id: str | None,
                turns: Sequence[Turn]) -> Recorded:
    """Store the last of `turns` (just completed) in the conversation, creating it when
    `conversation_id` is None."""
    turns = tuple(turns)
    if history is None or not turns:
        return Recorded(conversation_id, turns)
    last = turns[-1]
    try:
        if conversation_id is None or history.conversation(conversation_id) is None:
            conversation_id = history.new_conversation()  # deleted in another tab: anew
        stored = history.add_turn(conversation_id, saved_turn(last))
    except HistoryError as exc:
        log.warning("%s", exc)
        return Recorded(conversation_id, turns, f"This turn was not saved: {exc}")
    return Recorded(conversation_id, (*turns[:-1], replace(last, history_id=stored.id)))


def reopen(history: History, conversation_id: str,
           document_text: DocumentText) -> tuple[Turn, ...]:
    """The conversation's turns for the page; `HistoryError` if it is not there."""
    return web_turns(history.turns(conversation_id), document_text)


def label(conversation: SavedConversation, now: datetime | None = None) -> str:
    """"Title · 14:05" today, "Title · 3 Nov" before."""
    when = datetime.fromtimestamp(conversation.updated)
    today = (now or datetime.now()).date()
    stamp = f"{when:%H:%M}" if when.date() == today else f"{when.day} {when:%b %Y}"
    return f"{conversation.title or 'New chat'} · {stamp}"


def choices(history: History | None, limit: int = 200) -> list[tuple[str, str]]:
    """(label, id) of the web conversations, the most recently active first."""
    if history is None:
        return []
    try:
        return [(label(c), c.id) for c in history.conversations(origin="web", limit=limit)]
    except HistoryError as exc:
        log.warning("%s", exc)
        return []


def safe_document_text(document_text: DocumentText) -> DocumentText:
    """`document_text` that answers None (gone) when the index cannot be opened."""
    def text(doc_id: str) -> str | None:
        try:
            return document_text(doc_id)
        except CitewiseError:
            return None
    return text
