"""One conversation, as the CLI chat and the web chat both keep it, and follow-up rewriting.

A follow-up ("And how is it treated?") is searched as a standalone question. By rules
(`rewrite_query`), using the topic of the previous turn (the content words of its query,
minus question words such as "causes" or "treated"):
- a pronoun or a referring phrase ("it", "they", "this condition", "is that ...?") is
  replaced by the topic: "And how is it treated?" after "What causes paraneoplastic muscle
  weakness?" searches for "how is paraneoplastic muscle weakness treated?";
- a question that leans on the previous one ("What about children?", "Why?", "How
  common?": a leading "and/also/what about", or no content word of its own) gets the
  topic appended;
- anything else stands on its own and is searched as asked.
In generative mode the language model rewrites it instead, reading `Conversation.history`
(`app.service.Citewise.standalone_question`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.text import STOP_WORDS

MAX_TOPIC_WORDS = 8


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


def _topic_words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text)
            if w.lower() not in STOP_WORDS and w.lower() not in QUESTION_WORDS
            and w.lower() not in PRONOUNS and w.lower() not in DEMONSTRATIVES]


def topic_of(query: str) -> str:
    """The topic a query carries forward: its content words, in order, de-duplicated."""
    seen: set[str] = set()
    words = []
    for w in _topic_words(query):
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
    if _LEAD.match(question) or _LEANS.match(question) or not _topic_words(question):
        q = _LEAD.sub("", question).rstrip()
        return f"{q} {previous_topic}".strip()
    return question



@dataclass(frozen=True)
class Exchange:
    """One answered question: as typed, as searched, and the answer's text."""

    question: str
    query: str
    answer: str


@dataclass(frozen=True)
class Conversation:
    """The answered turns so far, oldest first. Immutable: `add` returns a new one."""

    exchanges: tuple[Exchange, ...] = ()

    def add(self, question: str, query: str, answer: str) -> Conversation:
        return Conversation((*self.exchanges, Exchange(question, query, answer)))

    @property
    def history(self) -> list[tuple[str, str]]:
        """(query searched, answer text) pairs: what the language model reads to rewrite a
        follow-up. The query, not the question as typed, so each turn stands on its own."""
        return [(e.query, e.answer) for e in self.exchanges]

    @property
    def topic(self) -> str | None:
        """The topic a follow-up carries forward: that of the latest query that has one."""
        for e in reversed(self.exchanges):
            topic = topic_of(e.query)
            if topic:
                return topic
        return None
