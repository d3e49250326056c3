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

Follow-ups are rewritten by the language model when the answer is generative
(`Citewise.standalone_question`), otherwise by rules, using the topic of the previous turn
(the content words of its query, minus question words such as "causes" or "treated"):
- a pronoun or a referring phrase ("it", "they", "this condition", "is that ...?") is
  replaced by the topic: "And how is it treated?" after "What causes paraneoplastic muscle
  weakness?" searches for "how is paraneoplastic muscle weakness treated?";
- a question that leans on the previous one ("What about children?", "Why?", "How
  common?": a leading "and/also/what about", or no content word of its own) gets the
  topic appended;
- anything else stands on its own and is searched as asked.
The query actually searched is shown under the question when it differs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from app import render
from app.answer import Answer
from index.lexical import STOP_WORDS
from ingest.errors import CitewiseError

MODES = ("auto", "extractive", "generative")
WORDS_PER_STEP = 10  # streaming granularity
MAX_TOPIC_WORDS = 8



class Answerer(Protocol):
    """What a chat turn needs of `app.service.Citewise`."""

    def mode(self, requested: str | None = None) -> str: ...

    def stream(self, question: str, k: int | None = None, doc_ids: list[str] | None = None,
               mode: str | None = None) -> Iterator[str | Answer]: ...

    def standalone_question(self, question: str, history: Sequence[tuple[str, str]],
                            previous_topic: str | None = None,
                            mode: str | None = None) -> str: ...


# Words that say what is asked about a topic, not what the topic is.
QUESTION_WORDS = frozenset("""
cause causes caused causing cure cures cured treat treats treated treating treatment
treatments manage managed management symptom symptoms sign signs diagnose diagnosed
diagnosis diagnosing prognosis outlook happen happens happened mean means meaning define
definition explain describe tell know many much often long common usually typically exactly
main kind kinds type types way ways best known possible else lead leads affect affects
involved involve role related associated difference differ
""".split())
PRONOUNS = frozenset("it its they them their theirs".split())
DEMONSTRATIVES = frozenset("this that these those".split())
_AUX = ("is are was were be been does do did can could may might will would should has have "
        "had cause causes mean means happen happens affect affects").split()
_REFERRING = re.compile(
    r"\b(?:this|that|these|those|such)\s+(?:conditions?|diseases?|disorders?|syndromes?|"
    r"illness(?:es)?|problems?|symptoms?|findings?|tumou?rs?|cancers?)\b", re.IGNORECASE)
_DUMMY_IT = re.compile(
    r"\b(?:is|was|isn't|wasn't)\s+it\s+(?:true|possible|likely|common|safe|known|normal|"
    r"necessary|rare)\b|\bit\s+(?:is|was)\s+(?:true|possible|likely|common|safe|known|"
    r"normal|necessary|rare)\b", re.IGNORECASE)
_LEAD = re.compile(r"^\s*(?:and|also|so|but|then|plus)\b[\s,]*", re.IGNORECASE)
_LEANS = re.compile(r"^\s*(?:(?:and\s+)?(?:what|how)\s+about|what\s+else|why|how\s+so)\b",
                    re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*")


def content_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text)
            if w.lower() not in STOP_WORDS and w.lower() not in QUESTION_WORDS
            and w.lower() not in PRONOUNS and w.lower() not in DEMONSTRATIVES]


def topic_of(query: str) -> str:
    """The topic a query carries forward: its content words, in order, de-duplicated."""
    seen: set[str] = set()
    words = []
    for w in content_words(query):
        if w.lower() not in seen:
            seen.add(w.lower())
            words.append(w)
    return " ".join(words[:MAX_TOPIC_WORDS])


def _anaphor(question: str) -> re.Match[str] | None:
    """The first word or phrase that refers back to the previous turn, if any."""
    found = _REFERRING.search(question)
    masked = _DUMMY_IT.sub(lambda m: " " * len(m.group()), question)
    tokens = list(re.finditer(r"[A-Za-z']+|[^\sA-Za-z']", masked))
    for i, tok in enumerate(tokens):
        word = tok.group().lower()
        nxt = tokens[i + 1].group().lower() if i + 1 < len(tokens) else ""
        prev = tokens[i - 1].group().lower() if i else ""
        if word in PRONOUNS or (word in DEMONSTRATIVES and (
                not nxt.isalpha() or nxt in _AUX or (prev in _AUX and i == 1))):
            if found is None or tok.start() < found.start():
                return tok
            break
    return found


def rewrite_query(question: str, previous_topic: str | None) -> str:
    """The retrieval query for `question`, given the previous turn's topic (or None)."""
    question = " ".join(question.split())
    if not previous_topic:
        return question
    ref = _anaphor(question)
    if ref is not None:
        q = question[:ref.start()] + previous_topic + question[ref.end():]
        q = _LEAD.sub("", q)
        return q[:1].upper() + q[1:] if q else q
    if _LEAD.match(question) or _LEANS.match(question) or not content_words(question):
        q = _LEAD.sub("", question).rstrip()
        return f"{q} {previous_topic}".strip()
    return question


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


def conversation(turns: Sequence[Turn]) -> list[tuple[str, str]]:
    """(query searched, answer text) of the answered turns, oldest first: what the language
    model reads to rewrite a follow-up. The query, not the question as typed, so that each
    earlier turn stands on its own."""
    return [(t.query, t.answer.text) for t in turns if t.answer is not None]


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
    previous = turns[-1].topic if turns else None
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
    answer = None
    try:
        earlier = conversation(turns)
        if resolved == "generative" and earlier:  # the model rewrites: it takes a moment
            yield ChatView((*turns, replace(base, query=question)), pieces=(), done=False)
            query = service.standalone_question(question, earlier, previous, resolved)
            turn = replace(base, query=query, topic=topic_of(query) or (previous or ""))
        yield ChatView((*turns, turn), pieces=(), done=False)  # the question shows at once
        for event in service.stream(query, k, list(doc_ids) if doc_ids else None, resolved):
            if isinstance(event, str):
                draft.append(event)
                yield ChatView((*turns, turn), draft="".join(draft), done=False)
            else:
                answer = event
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
    groups = [render.sources_group(i, t.question, t.answer.citations)
              for i, t in reversed(list(enumerate(turns, start=1)))
              if t.answer is not None and t.answer.citations]
    return render.page(groups, render.EMPTY_SOURCES, "cw-sources")
