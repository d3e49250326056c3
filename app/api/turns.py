"""One API turn as plain Python: the question and its conversation from the messages, the
query searched, and the answer stream, as the web chat does it (`app.web.turn.chat_turn`).

The last message is the question (it must be the user's). Earlier user and assistant
messages are the conversation: each user message with the assistant reply after it is one
exchange, and its query is rebuilt by the rules the chat used for it
(`app.conversation.rewrite_query`, from the topic so far). The follow-up is then rewritten
as in the web chat: by rules, or by the language model when the answer is generative and
there is a conversation (`Citewise.standalone_question`). System and developer messages
are ignored: the answer rules are citewise's own.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from app.answer.types import AnswerEvent, Mode
from app.api.schema import ApiError, ChatMessage
from app.conversation import Conversation, rewrite_query
from app.web.turn import Answerer


@dataclass(frozen=True)
class Asked:
    """What one chat-completion request asks: the question and the conversation before it."""

    question: str
    conversation: Conversation


@dataclass(frozen=True)
class Searched:
    """The first event of an API turn: the query actually searched."""

    query: str


def asked(messages: Sequence[ChatMessage]) -> Asked:
    """The question and its conversation; `ApiError` naming the message at fault."""
    last = len(messages) - 1
    if messages[last].role != "user":
        raise ApiError(400, f"messages[{last}]: the last message must be the user's question "
                            f"(got role {messages[last].role!r}).", param="messages")
    question = " ".join(messages[last].text(f"messages[{last}]").split())
    if not question:
        raise ApiError(400, f"messages[{last}].content: the question is empty.",
                       param=f"messages[{last}].content")
    conversation = Conversation()
    pending: str | None = None
    for i, message in enumerate(messages[:last]):
        text = " ".join(message.text(f"messages[{i}]").split())
        if message.role == "user" and text:
            pending = text
        elif message.role == "assistant" and pending is not None and text:
            query = rewrite_query(pending, conversation.topic)
            conversation = conversation.add(pending, query, text)
            pending = None
    return Asked(question, conversation)


def answer_events(service: Answerer, turn: Asked, mode: Mode, k: int | None,
                  doc_ids: list[str] | None) -> Iterator[Searched | AnswerEvent]:
    """`Searched(query)`, then the answer stream (`Draft`s, `Retry`, then `Final`)."""
    query = service.standalone_question(turn.question, turn.conversation, mode)
    yield Searched(query)
    yield from service.stream(query, k, doc_ids, mode)
