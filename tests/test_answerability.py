"""The language model as the judge of answerability (app/answer/answerability.py): the
judge's decision, the client call that gives it token probabilities, and where the service
uses it. The judge's accuracy on labelled questions is measured by `python -m
eval.answerability`, not asserted here."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.answer.answerability import ANSWERS_MIN, NOTE, ModelJudge, judge_messages
from app.answer.types import Final
from app.llm.backends import OpenAIChat, probabilities_from_logprobs
from app.service import Citewise
from tests.fakes import ScriptedGenerator

QUESTION = "Which antibodies characterize LEMS voltage-gated calcium channels?"


class FixedScorer:
    """Gives the same first-token probabilities for every prompt; records the prompts."""

    def __init__(self, probs: dict[str, float] | None):
        self.probs = probs
        self.prompts: list[list[dict]] = []

    def first_token_probabilities(self, messages):
        self.prompts.append(list(messages))
        return self.probs


class JudgingModel(ScriptedGenerator):
    """A scripted model that also judges, always with `p_yes`."""

    def __init__(self, p_yes: float):
        super().__init__()
        self.scorer = FixedScorer({"yes": p_yes, "no": 1 - p_yes})

    def first_token_probabilities(self, messages):
        return self.scorer.first_token_probabilities(messages)


@pytest.mark.parametrize(("probs", "verdict"), [
    ({"yes": 0.9, "no": 0.1}, True),
    ({"yes": 0.1, "no": 0.9}, False),
    ({"yes": 0.02, "no": 0.08, "maybe": 0.9}, False),  # 0.2 of the yes + no mass
    ({"maybe": 1.0}, None),  # neither word: it cannot say
    (None, None),  # no probabilities from the server
])
def test_the_judge_answers_by_the_share_of_yes(probs, verdict) -> None:
    judge = ModelJudge(FixedScorer(probs))
    assert judge.answers("How is gout treated?", ["Gout is treated with colchicine."]) \
        is verdict


def test_the_judge_stops_at_the_first_sentence_that_answers() -> None:
    scorer = FixedScorer({"yes": 0.9, "no": 0.1})
    assert ModelJudge(scorer).answers("Q?", ["a.", "b."]) is True
    assert len(scorer.prompts) == 1


def test_the_judge_reads_only_the_best_sentences_with_its_examples_first() -> None:
    scorer = FixedScorer({"yes": 0.1, "no": 0.9})
    ModelJudge(scorer, judged=2).answers("Q?", ["a.", "b.", "c."])
    assert len(scorer.prompts) == 2
    assert scorer.prompts[0][:-1] == judge_messages("x", "y")[:-1]  # the fixed prefix
    assert scorer.prompts[1][-1]["content"] == "Question: Q?\nSentence: b."


def test_log_probabilities_of_one_word_meet() -> None:
    probs = probabilities_from_logprobs([{"token": "Yes", "logprob": -0.5},
                                         {"token": " yes", "logprob": -2.0},
                                         {"token": "No", "logprob": -1.5}])
    assert set(probs) == {"yes", "no"}
    assert probs["yes"] == pytest.approx(0.6065 + 0.1353, abs=1e-3)


class LogprobServer(BaseHTTPRequestHandler):
    """Answers a one-token chat completion with `top` as its log probabilities."""

    top: list[dict] | None = None
    bodies: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        choice = {"message": {"content": "Yes"}}
        if self.top is not None:
            choice["logprobs"] = {"content": [{"token": "Yes", "top_logprobs": self.top}]}
        data = json.dumps({"choices": [choice]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def logprob_server() -> Iterator[str]:
    LogprobServer.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), LogprobServer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_the_client_asks_for_one_token_with_its_log_probabilities(logprob_server) -> None:
    LogprobServer.top = [{"token": "Yes", "logprob": -0.1}, {"token": "No", "logprob": -2.4}]
    probs = OpenAIChat(logprob_server).first_token_probabilities(judge_messages("Q?", "S."))
    assert probs is not None and probs["yes"] > 0.85 and probs["no"] < 0.1
    body = LogprobServer.bodies[0]
    assert body["max_tokens"] == 1 and body["logprobs"] is True and not body.get("stream")


def test_a_server_without_log_probabilities_judges_nothing(logprob_server) -> None:
    LogprobServer.top = None
    assert OpenAIChat(logprob_server).first_token_probabilities([]) is None


def _service(settings, embedder, model, **update) -> Citewise:
    service = Citewise(settings.model_copy(update={"answer_mode": "generative", **update}),
                       embedder, generator=model)
    service.ingest()
    return service


def test_a_question_the_model_judges_unanswered_is_refused_before_it_writes(
        settings, embedder) -> None:
    model = JudgingModel(p_yes=ANSWERS_MIN / 2)
    events = list(_service(settings, embedder, model).stream(QUESTION, k=5))
    answer = events[-1].answer
    assert isinstance(events[-1], Final) and answer.abstained and answer.note == NOTE
    assert model.calls == []  # no answer was written
    assert model.scorer.prompts and "judge_ms" in answer.timings


def test_a_question_the_model_judges_answered_is_answered(settings, embedder) -> None:
    model = JudgingModel(p_yes=0.9)
    answer = _service(settings, embedder, model).ask(QUESTION, k=5)
    assert not answer.abstained and model.calls


@pytest.mark.parametrize(("setting", "mode", "used"), [
    ("auto", "generative", True), ("auto", "extractive", False),
    ("on", "extractive", True), ("off", "generative", False),
])
def test_the_setting_says_in_which_mode_the_model_judges(settings, embedder, setting, mode,
                                                         used) -> None:
    model = JudgingModel(p_yes=0.0)
    service = _service(settings, embedder, model, model_judge=setting)
    answer = service.ask(QUESTION, k=5, mode=mode)
    assert bool(model.scorer.prompts) is used
    assert answer.abstained is used


def test_a_server_without_log_probabilities_is_asked_once(logprob_server) -> None:
    LogprobServer.top = None
    client = OpenAIChat(logprob_server)
    assert client.first_token_probabilities([]) is None
    assert client.first_token_probabilities([]) is None
    assert len(LogprobServer.bodies) == 1


def test_the_evidence_report_gives_each_line_and_the_lines_after_the_first() -> None:
    from eval.answerability import report

    def row(qid: str, rank: int, p: float, label: bool, answerable: bool = True) -> dict:
        return {"id": qid, "answerable": answerable, "rank": rank, "p": p, "label": label,
                "seconds": 0.5}

    rows = [row("a", 0, 0.9, True), row("a", 1, 0.2, False), row("a", 2, 0.8, True),
            row("b", 0, 0.7, False), row("b", 1, 0.6, True), row("b", 2, 0.4, False),
            row("u", 0, 0.9, False, answerable=False)]
    out = report(rows)
    assert out["by_line"]["line 1"] == {"lines": 2, "answering": 0.5}
    assert out["by_line"]["line 2"] == {"lines": 2, "answering": 0.5}
    # lines 2-3 of the answerable questions: answering 0.8 and 0.6 above 0.4 and 0.2
    assert out["auc_after_the_first"] == 1.0
    rows[2]["p"] = 0.1  # now one answering line scores below both that do not
    assert report(rows)["auc_after_the_first"] == 0.5
