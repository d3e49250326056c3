"""Does the evidence answer the question? The language model judges, before an answer is made.

Retrieval and the term rerank choose sentences by topic, and in a large corpus something is
always on the topic ("How is type 2 diabetes treated?" finds a study of tele-prescription in
type 2 diabetes). So, when a language model that gives token probabilities is at hand, it
judges each of the best `JUDGED` evidence sentences on its own: a fixed instruction and six
worked examples (made up, on other diseases than the gold set's), then "Question: ...
Sentence: ...", and the probability of "Yes" over "Yes" + "No" as its first token. If no
judged sentence reaches `ANSWERS_MIN`, the question is refused as one the sources do not
cover. A model that gives no probabilities (some OpenAI-compatible servers) judges nothing
and the rules alone decide, as in extractive mode without a model.

Measured (`python -m eval.answerability`) on the gold questions over the default sources
plus 3,000 PubMed abstracts, the best two evidence sentences of each question that passes
the retrieval threshold: see README, "Judging answers".
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from app.llm.backends import Message

if TYPE_CHECKING:
    from app.answer.evidence import Evidence

JUDGED = 2  # best evidence sentences the model judges
ANSWERS_MIN = 0.35  # P("Yes") one of them must reach for the question to be answered
NOTE = ("None of the best source sentences answers this question (judged by the language "
        "model), so it is not answered.")

SYSTEM = ("You check sentences found for a question. Reply Yes if the sentence itself "
          "states the answer to the question, or part of it, even when that answer is no "
          "or shows the question's assumption to be wrong. Reply No if it only mentions "
          "the question's topic, says what a study set out to do or how it was done, or "
          "answers another question. Reply with one word: Yes or No.")
EXAMPLES = (
    ("How is gout treated?",
     "Gout is a common form of inflammatory arthritis in older men.", "No"),
    ("How is gout treated?",
     "Acute gout attacks are treated with NSAIDs, colchicine or corticosteroids.", "Yes"),
    ("What are the symptoms of migraine?",
     "This study examined how common migraine is among nurses.", "No"),
    ("Does smoking raise the risk of bladder cancer?",
     "Smokers had three times the bladder cancer risk of people who never smoked.", "Yes"),
    ("Tell me a joke about nurses.", "Nurses are the largest group of health workers.", "No"),
    ("Does vitamin C shorten the common cold?",
     "In most trials, vitamin C did not shorten colds.", "Yes"),
)


@runtime_checkable
class TokenScorer(Protocol):
    """A model that gives the probabilities of its likeliest first reply tokens."""

    def first_token_probabilities(self, messages: Sequence[Message]) -> dict[str, float] | None:
        """Token (stripped, lower case) -> probability; None when it cannot say."""
        ...


def judge_messages(question: str, sentence: str) -> list[Message]:
    """The judge's prompt: the fixed instruction and examples, then this pair."""
    out: list[Message] = [{"role": "system", "content": SYSTEM}]
    for q, s, reply in EXAMPLES:
        out += [{"role": "user", "content": f"Question: {q}\nSentence: {s}"},
                {"role": "assistant", "content": reply}]
    out.append({"role": "user", "content": f"Question: {question}\nSentence: {sentence}"})
    return out


class ModelJudge:
    """Judges whether sentences answer a question with a `TokenScorer` (module docstring)."""

    def __init__(self, scorer: TokenScorer, answers_min: float = ANSWERS_MIN,
                 judged: int = JUDGED):
        self.scorer = scorer
        self.answers_min = answers_min
        self.judged = judged

    def probability(self, question: str, sentence: str) -> float | None:
        """P(the sentence answers the question), or None when the model cannot say."""
        probs = self.scorer.first_token_probabilities(judge_messages(question, sentence))
        if not probs:
            return None
        yes, no = probs.get("yes", 0.0), probs.get("no", 0.0)
        return yes / (yes + no) if yes + no > 0 else None

    def answers(self, question: str, sentences: Sequence[str]) -> bool | None:
        """True at the first of the first `judged` sentences that reaches `answers_min`
        (the rest are not read), False when none does; None when the model judged none."""
        judged = False
        for sentence in sentences[:self.judged]:
            p = self.probability(question, sentence)
            if p is not None and p >= self.answers_min:
                return True
            judged = judged or p is not None
        return False if judged else None


def judged_answerable(judge: ModelJudge | None, found: Evidence,
                      timings: dict[str, float]) -> bool:
    """False when `judge` finds that none of `found`'s best sentences answers its question
    (True without a judge, or when it cannot say); its time goes to `timings["judge_ms"]`."""
    if judge is None or not found.ranked:
        return True
    t0 = time.perf_counter()
    verdict = judge.answers(found.question, [c.readable for c in found.ranked])
    timings["judge_ms"] = (time.perf_counter() - t0) * 1000
    return verdict is not False
