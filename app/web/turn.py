"""One chat turn as plain Python: follow-up rewriting, the streamed answer, the page's HTML.

`chat_turn` is a generator (the Gradio layer only maps what it yields to components): it
resolves the answer mode, rewrites a follow-up question into a standalone query, asks, and
yields the page after every step.

- Extractive answers (source sentences verbatim) grow a few words at a time, each sentence
  getting its citation markers once complete.
- Generative answers show the model's draft as it is written, marked "checking against the
  sources…"; the verified answer then replaces it: each sentence with a badge, supported
  (✓, with its markers) or not supported (struck through, and not part of the answer).
  When nothing could be verified the answer is the extractive one, with the note saying so.

Follow-ups are rewritten into standalone queries as in the CLI chat (`app.conversation`:
by the language model in generative mode, by rules otherwise).
The query actually searched is shown under the question when it differs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from app.answer.types import MODE_CHOICES, Answer, AnswerEvent, Draft, Final, Mode, Retry
from app.conversation import Conversation, Exchange, rewrite_query, topic_of
from app.web import render
from ingest.errors import CitewiseError

MODES = MODE_CHOICES
WORDS_PER_STEP = 10  # streaming granularity
CHANGED_NOTE = ("A document this answer cites has changed or been removed since: its "
                "sources show the passages as they were.")


class Answerer(Protocol):
    """What a chat turn needs of `app.service.Citewise`."""

    def mode(self, requested: str | None = None) -> Mode: ...

    def stream(self, question: str, k: int | None = None, doc_ids: list[str] | None = None,
               mode: str | None = None) -> Iterator[AnswerEvent]: ...

    def standalone_question(self, question: str, conversation: Conversation,
                            mode: str | None = None) -> str: ...


@dataclass(frozen=True)
class Turn:
    """One question and what came of it: an answer, or an error message."""

    question: str
    query: str
    topic: str
    answer: Answer | None = None
    error: str | None = None
    k: int | None = None
    doc_ids: tuple[str, ...] = ()
    history_id: int | None = None  # the turn's id in the chat history, once stored
    changed: frozenset[int] = frozenset()  # citations whose source changed since (reopened)


@dataclass(frozen=True)
class ChatView:
    """The conversation after one streaming step. While the last turn is being answered,
    `pieces` is its extractive answer as shown so far, or `draft` the model's draft so far
    (both None once complete)."""

    turns: tuple[Turn, ...]
    pieces: tuple[render.Piece, ...] | None = None
    done: bool = True
    notes: tuple[str, ...] = field(default=())
    draft: str | None = None

    @property
    def transcript_html(self) -> str:
        return transcript_html(self.turns, self.pieces, self.draft)

    @property
    def sources_html(self) -> str:
        return sources_html(self.turns)


def stream_pieces(answer: Answer, words_per_step: int = WORDS_PER_STEP
                  ) -> Iterator[tuple[render.Piece, ...]]:
    """The answer as it grows: a few more words each step; a sentence gets its markers
    when it is complete. The last step is the whole answer."""
    done: list[render.Piece] = []
    for sentence in answer.final_sentences:
        words = sentence.text.split(" ")
        for n in range(words_per_step, len(words), words_per_step):
            yield (*done, (" ".join(words[:n]), ()))
        done.append((sentence.text, sentence.citations))
        yield tuple(done)


def conversation(turns: Sequence[Turn]) -> Conversation:
    """The answered turns as the one `Conversation` the CLI chat keeps too."""
    return Conversation(tuple(Exchange(t.question, t.query, t.answer.text)
                              for t in turns if t.answer is not None))


def chat_turn(service: Answerer, question: str, history: Sequence[Turn], k: int | None = None,
              doc_ids: Sequence[str] | None = None, mode: str | None = None,
              words_per_step: int = WORDS_PER_STEP) -> Iterator[ChatView]:
    """Answer `question` in the context of `history`; yields the page after each step.

    `mode` is one of `MODES` (None: the settings' default). A mistake (no language model
    for generative answers, no index, a model server that does not answer) ends the turn
    with its message in the conversation."""
    turns = tuple(history)
    question = " ".join(question.split())
    if not question:
        yield ChatView(turns, notes=("Type a question first.",))
        return
    earlier = conversation(turns)
    previous = earlier.topic
    query = rewrite_query(question, previous)
    base = Turn(question, query, topic_of(query) or (previous or ""), k=k,
                doc_ids=tuple(doc_ids or ()))
    try:
        resolved = service.mode(mode or None)
    except CitewiseError as exc:
        yield ChatView((*turns, replace(base, error=str(exc))))
        return
    turn = base
    draft: list[str] = []
    answer: Answer | None = None
    try:
        if resolved == "generative" and earlier.exchanges:  # the model rewrites: it takes a while
            yield ChatView((*turns, replace(base, query=question)), pieces=(), done=False)
            query = service.standalone_question(question, earlier, resolved)
            turn = replace(base, query=query, topic=topic_of(query) or (previous or ""))
        yield ChatView((*turns, turn), pieces=(), done=False)  # the question shows at once
        for event in service.stream(query, k, list(doc_ids) if doc_ids else None, resolved):
            match event:
                case Draft(text):
                    draft.append(text)
                    yield ChatView((*turns, turn), draft="".join(draft), done=False)
                case Retry():  # the first draft failed verification: a new one follows
                    draft.clear()
                case Final(answer=answer):
                    pass
    except CitewiseError as exc:
        yield ChatView((*turns, replace(turn, error=str(exc))))
        return
    if answer is None:  # a stream always ends with its answer
        yield ChatView((*turns, replace(turn, error="No answer came back: ask again.")))
        return
    turn = replace(turn, answer=answer)
    if not draft and not answer.abstained:
        for pieces in stream_pieces(answer, words_per_step):
            yield ChatView((*turns, turn), pieces=pieces, done=False)
    yield ChatView((*turns, turn))


def turn_html(turn_no: int, turn: Turn, pieces: Sequence[render.Piece] | None = None,
              draft: str | None = None) -> str:
    user = render.user_message(turn_no, turn.question, turn.query)
    if turn.error is not None:
        return user + render.bot_message(turn_no, render.esc(turn.error), "error")
    answer = turn.answer
    if answer is None:
        if draft:  # the model is writing
            return user + render.bot_message(turn_no, render.draft(draft), "draft",
                                             streaming=True)
        return user + render.bot_message(turn_no, '<span class="cw-typing">…</span>',
                                         "answer", streaming=True)
    note = render.note(answer.note) if answer.note else ""
    if turn.changed:
        note += render.note(CHANGED_NOTE)
    if answer.abstained or not answer.final_sentences:
        return user + render.bot_message(turn_no, note + render.abstention(), "abstain")
    if pieces is not None:  # an extractive answer, growing
        body = render.answer_body(turn_no, pieces, answer.citations)
        return user + render.bot_message(turn_no, body, "answer", streaming=True)
    if any(s.supported is not None for s in answer.sentences):
        body = render.checked_body(turn_no, answer.sentences, answer.citations)
        body += render.checked_footer(answer.generator, len(answer.removed_sentences))
    else:
        shown = [(s.text, s.citations) for s in answer.sentences]
        body = render.answer_body(turn_no, shown, answer.citations)
    return user + render.bot_message(turn_no, note + body, "answer")


def transcript_html(turns: Sequence[Turn], pieces: Sequence[render.Piece] | None = None,
                    draft: str | None = None) -> str:
    last = len(turns)
    parts = [turn_html(i, t, pieces if i == last else None, draft if i == last else None)
             for i, t in enumerate(turns, start=1)]
    return render.page(parts, render.EMPTY_TRANSCRIPT, "cw-transcript")


def sources_html(turns: Sequence[Turn]) -> str:
    """Citations of every answered turn, the latest first."""
    groups = [render.sources_group(i, t.question, t.answer.citations, t.changed)
              for i, t in reversed(list(enumerate(turns, start=1)))
              if t.answer is not None and t.answer.citations]
    return render.page(groups, render.EMPTY_SOURCES, "cw-sources")
