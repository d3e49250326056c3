"""Chat history that survives a restart: conversations and their turns in one SQLite file.

`History(path)` is the store (`Settings.history_path`, default `<index_dir>/history.sqlite3`;
`citewise ingest --rebuild` does not delete it). The web chat writes each turn when it is
complete, the API when a request asks it to. A turn is one row written in one transaction,
so a process killed at any moment leaves every completed turn and no partial one; the file
is in WAL mode with `synchronous=FULL`, so a committed turn survives a crash of the machine
too.

A turn keeps what the page needs to show it again: the question as typed, the query
searched, the answer mode, the answer's text, its sentences with their verdicts, its
citations with their spans (`Citation.to_json()` and `passage_start`), the timings and
the feedback given on it. The retrieved passages (`Answer.hits`) are not kept.

`changed_citations` compares a stored turn's citations with the documents as they are now:
a document since changed or removed is "source changed since"; the stored passage is what
is shown.

    conversations (id, title, origin, created, updated)
    turns (id, conversation_id -> conversations ON DELETE CASCADE, seq, created, question,
           query, mode, answer_text, error, record JSON, feedback_rating, feedback_comment,
           feedback_time)
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import MISSING, dataclass, fields, replace
from pathlib import Path
from typing import Literal

from app.answer.types import Answer, AnswerSentence, Citation, Mode
from ingest.errors import HistoryError

log = logging.getLogger(__name__)

FILENAME = "history.sqlite3"
SCHEMA_VERSION = 1
MAX_TITLE = 80
Rating = Literal["up", "down"]
RATINGS: tuple[Rating, ...] = ("up", "down")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    origin TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    created REAL NOT NULL,
    question TEXT NOT NULL,
    query TEXT NOT NULL,
    mode TEXT,
    answer_text TEXT,
    error TEXT,
    record TEXT NOT NULL,
    feedback_rating TEXT,
    feedback_comment TEXT,
    feedback_time REAL,
    UNIQUE (conversation_id, seq)
);
CREATE INDEX IF NOT EXISTS conversations_updated ON conversations(updated);
"""


@dataclass(frozen=True)
class Feedback:
    """👍 or 👎 on a turn, with an optional comment; `time` in seconds since the epoch."""

    rating: Rating
    comment: str = ""
    time: float = 0.0


@dataclass(frozen=True)
class SavedTurn:
    """One question and what came of it (an answer, or an error message). `id`, `seq`
    (1, 2, ... within its conversation) and `created` are set once it is stored."""

    question: str
    query: str
    answer: Answer | None = None
    error: str | None = None
    k: int | None = None
    doc_ids: tuple[str, ...] = ()
    feedback: Feedback | None = None
    id: int | None = None
    seq: int = 0
    created: float = 0.0

    @property
    def mode(self) -> Mode | None:
        return self.answer.mode if self.answer is not None else None


@dataclass(frozen=True)
class SavedConversation:
    """A conversation as listed: titled by its first question unless renamed."""

    id: str
    title: str
    origin: str  # "web" or "api"
    created: float
    updated: float
    turns: int = 0


def title_of(question: str) -> str:
    """A conversation's title from its first question: one line, at most `MAX_TITLE`."""
    text = " ".join(question.split())
    return text if len(text) <= MAX_TITLE else text[:MAX_TITLE - 1].rstrip() + "…"


class History:
    """The conversations in one SQLite file, safe to share between threads (one connection
    behind a lock) and processes (SQLite's own locking). Every error is a `HistoryError`
    whose message says what to do."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    # -- connection ------------------------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30, check_same_thread=False,
                                 isolation_level=None)
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                db.close()
                raise HistoryError(
                    f"The chat history {self.path} was written by a newer citewise "
                    f"(schema {version}): upgrade, or set CITEWISE_HISTORY_PATH to another "
                    "file.")
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            return db
        except (sqlite3.Error, OSError) as exc:
            raise self._error(exc) from exc

    def _error(self, exc: Exception) -> HistoryError:
        if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
            return HistoryError(f"The chat history {self.path} is not a SQLite database: move "
                                "it away (or delete it) to start a new history.")
        return HistoryError(f"The chat history {self.path} cannot be used ({exc}): check the "
                            "folder is writable and the disk not full, or set "
                            "CITEWISE_HISTORY_PATH to another file.")

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """The connection, inside a transaction when `write` (committed at the end, rolled
        back on any error)."""
        with self._lock:
            if self._db is None:
                self._db = self._open()
            db = self._db
            try:
                if write:
                    db.execute("BEGIN IMMEDIATE")
                yield db
                if write:
                    db.execute("COMMIT")
            except BaseException as exc:
                if write and db.in_transaction:
                    db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._error(exc) from exc
                raise

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- conversations -----------------------------------------------------------------------
    def new_conversation(self, title: str = "", origin: str = "web",
                         conversation_id: str | None = None) -> str:
        """A new, empty conversation; returns its id. An empty `title` becomes the first
        question's."""
        cid = conversation_id or uuid.uuid4().hex
        now = time.time()
        with self._tx(write=True) as db:
            try:
                db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?, ?)",
                           (cid, title_of(title), origin, now, now))
            except sqlite3.IntegrityError as exc:
                raise HistoryError(f"A conversation {cid} is already in the history: give "
                                   "another id, or none.") from exc
        return cid

    def conversations(self, origin: str | None = None,
                      limit: int | None = None) -> list[SavedConversation]:
        """Every conversation (or those of one `origin`), the most recently active first."""
        sql = ("SELECT c.id, c.title, c.origin, c.created, c.updated, COUNT(t.id) FROM "
               "conversations c LEFT JOIN turns t ON t.conversation_id = c.id"
               + (" WHERE c.origin = ?" if origin else "")
               + " GROUP BY c.id ORDER BY c.updated DESC, c.rowid DESC"
               + (" LIMIT ?" if limit is not None else ""))
        params: list[object] = [p for p in (origin,) if p]
        if limit is not None:
            params.append(limit)
        with self._tx() as db:
            return [SavedConversation(*row) for row in db.execute(sql, params)]

    def conversation(self, conversation_id: str) -> SavedConversation | None:
        with self._tx() as db:
            row = db.execute("SELECT c.id, c.title, c.origin, c.created, c.updated, "
                             "(SELECT COUNT(*) FROM turns t WHERE t.conversation_id = c.id) "
                             "FROM conversations c WHERE c.id = ?",
                             (conversation_id,)).fetchone()
        return SavedConversation(*row) if row else None

    def rename(self, conversation_id: str, title: str) -> None:
        title = title_of(title)
        if not title:
            raise HistoryError("Type a title first: a conversation's title cannot be empty.")
        with self._tx(write=True) as db:
            cur = db.execute("UPDATE conversations SET title = ? WHERE id = ?",
                             (title, conversation_id))
            self._found(cur.rowcount, conversation_id)

    def delete(self, conversation_id: str) -> None:
        """Delete a conversation and all its turns."""
        with self._tx(write=True) as db:
            cur = db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
            self._found(cur.rowcount, conversation_id)

    def clear(self) -> int:
        """Delete every conversation; returns how many there were."""
        with self._tx(write=True) as db:
            n = db.execute("DELETE FROM conversations").rowcount
            db.execute("DELETE FROM turns")
        try:
            with self._tx() as db:
                db.execute("VACUUM")  # the deleted text leaves the file too
        except HistoryError as exc:  # another process is reading: the next clear shrinks it
            log.warning("The chat history was cleared but not compacted: %s", exc)
        return n

    @staticmethod
    def _found(rowcount: int, conversation_id: str) -> None:
        if rowcount == 0:
            raise HistoryError(f"No conversation {conversation_id} in the history (deleted "
                               "meanwhile?): reload the list.")

    # -- turns -----------------------------------------------------------------------------
    def add_turn(self, conversation_id: str, turn: SavedTurn) -> SavedTurn:
        """Store a completed turn at the end of the conversation, in one transaction;
        returns it with its `id`, `seq` and `created` set. The conversation's title becomes
        the question if it had none, and it moves to the top of the list."""
        now = time.time()
        record = json.dumps(_turn_json(turn), ensure_ascii=False)
        answer = turn.answer
        with self._tx(write=True) as db:
            row = db.execute("SELECT title FROM conversations WHERE id = ?",
                             (conversation_id,)).fetchone()
            self._found(0 if row is None else 1, conversation_id)
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE "
                             "conversation_id = ?", (conversation_id,)).fetchone()[0]
            fb = turn.feedback
            cur = db.execute(
                "INSERT INTO turns (conversation_id, seq, created, question, query, mode, "
                "answer_text, error, record, feedback_rating, feedback_comment, "
                "feedback_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (conversation_id, seq, now, turn.question, turn.query, turn.mode,
                 answer.text if answer is not None else None, turn.error, record,
                 fb.rating if fb else None, fb.comment if fb else None,
                 fb.time if fb else None))
            db.execute("UPDATE conversations SET updated = ?, title = CASE WHEN title = '' "
                       "THEN ? ELSE title END WHERE id = ?",
                       (now, title_of(turn.question), conversation_id))
            turn_id = cur.lastrowid
        return replace(turn, id=turn_id, seq=seq, created=now)

    def turns(self, conversation_id: str) -> list[SavedTurn]:
        """The conversation's turns, oldest first; `HistoryError` if there is no such
        conversation."""
        with self._tx() as db:
            if db.execute("SELECT 1 FROM conversations WHERE id = ?",
                          (conversation_id,)).fetchone() is None:
                self._found(0, conversation_id)
            rows = db.execute("SELECT id, seq, created, question, query, error, record, "
                              "feedback_rating, feedback_comment, feedback_time FROM turns "
                              "WHERE conversation_id = ? ORDER BY seq",
                              (conversation_id,)).fetchall()
        return [_turn_from_row(row) for row in rows]

    def set_feedback(self, turn_id: int, rating: Rating, comment: str = "") -> None:
        """Keep 👍/👎 (and a comment) with a stored turn; a second rating replaces the first."""
        if rating not in RATINGS:
            raise HistoryError(f"A rating is one of {', '.join(RATINGS)}, not {rating!r}.")
        with self._tx(write=True) as db:
            cur = db.execute("UPDATE turns SET feedback_rating = ?, feedback_comment = ?, "
                             "feedback_time = ? WHERE id = ?",
                             (rating, comment.strip(), time.time(), turn_id))
            if cur.rowcount == 0:
                raise HistoryError(f"No turn {turn_id} in the history (its conversation was "
                                   "deleted?): the feedback was not kept with it.")


# -- the stored form ---------------------------------------------------------------------------
def changed_citations(turn: SavedTurn, document_text: Callable[[str], str | None]
                      ) -> frozenset[int]:
    """Ids of the turn's citations whose document was changed or removed since the turn:
    the document is gone, or its text no longer holds the stored passage and quote at
    their spans. `document_text(doc_id)` is the current cleaned text, or None."""
    answer = turn.answer
    if answer is None:
        return frozenset()
    texts: dict[str, str | None] = {}
    changed = set()
    for c in answer.citations:
        if c.doc_id not in texts:
            texts[c.doc_id] = document_text(c.doc_id)
        text = texts[c.doc_id]
        if (text is None or text[c.start:c.end] != c.quote
                or text[c.passage_start:c.passage_start + len(c.passage)] != c.passage):
            changed.add(c.id)
    return frozenset(changed)


def answer_json(answer: Answer) -> dict:
    """An answer as stored: `Answer.to_json()` without the retrieved passages, each
    citation with its `passage_start` too, and the timings unrounded."""
    data = answer.to_json()
    data.pop("retrieved", None)
    data["citations"] = [{**c.to_json(), "passage_start": c.passage_start}
                         for c in answer.citations]
    data["timings"] = dict(answer.timings)
    return data


def answer_from_json(data: dict) -> Answer:
    sentences = tuple(AnswerSentence(s["text"], tuple(s["citations"]), float(s["score"]),
                                     s["supported"], s.get("reason", ""))
                      for s in data["sentences"])
    return Answer(question=data["question"], sentences=sentences,
                  citations=tuple(citation_from_json(c) for c in data["citations"]),
                  hits=(), abstained=bool(data["abstained"]), mode=data["mode"],
                  timings=dict(data.get("timings", {})), generator=data.get("generator", ""),
                  note=data.get("note", ""))


def citation_from_json(data: dict) -> Citation:
    """A `Citation` from `answer_json`'s form; fields added to `Citation` later (with a
    default) are read when present."""
    values: dict[str, object] = {}
    for f in fields(Citation):
        key = "source" if f.name == "doc_id" else f.name
        if key in data:
            value = data[key]
            values[f.name] = tuple(value) if isinstance(value, list) else value
        elif f.default is MISSING and f.default_factory is MISSING:
            raise HistoryError(f"A stored citation lacks its {key!r}: the history file was "
                               "changed by something else than citewise.")
    return Citation(**values)  # type: ignore[arg-type]


def _turn_json(turn: SavedTurn) -> dict:
    return {"question": turn.question, "query": turn.query, "error": turn.error, "k": turn.k,
            "doc_ids": list(turn.doc_ids),
            "answer": answer_json(turn.answer) if turn.answer is not None else None}


def _turn_from_row(row: tuple) -> SavedTurn:
    tid, seq, created, question, query, error, record, rating, comment, fb_time = row
    try:
        data = json.loads(record)
        answer = answer_from_json(data["answer"]) if data.get("answer") else None
    except (ValueError, KeyError, TypeError) as exc:
        raise HistoryError(f"Turn {tid} of the chat history cannot be read ({exc}): delete "
                           "its conversation.") from exc
    feedback = Feedback(rating, comment or "", fb_time or 0.0) if rating else None
    return SavedTurn(question, query, answer, error, data.get("k"),
                     tuple(data.get("doc_ids", ())), feedback, tid, seq, created)
