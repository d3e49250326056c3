"""Answer precision and the answer-shape metrics (eval.metrics, eval.scoring), on hand-made
answers with hand-computed values."""

from __future__ import annotations

import pytest

from app.answer.generative import FALLBACK_NOTE
from eval.gold import GoldQuestion
from eval.metrics import GradedAnswer, answer_precision, sentence_precise, within_quote
from eval.runner import Record
from eval.scoring import answer_metrics, per_kind, score

QUOTE = ("Lambert-Eaton myasthenic syndrome is characterized by antibodies against voltage-gated "
         "calcium channels at the neuromuscular junction.")
KEY_POINT = "antibodies against voltage-gated calcium channels"
ON_POINT = "LEMS is caused by antibodies against voltage-gated calcium channels [1]."
PADDING = "Paraneoplastic syndromes are rare and often precede the diagnosis of cancer [2]."


# ----------------------------------------------------------------------------- within_quote


def test_within_quote_substring_with_markers_stripped_on_both_sides() -> None:
    # normalised substring: case, dashes and the [n] markers do not matter
    assert within_quote("antibodies against VOLTAGE\u2013GATED calcium channels [3]", QUOTE)
    assert within_quote("at the neuromuscular junction [1, 2].", QUOTE + " [7]")


def test_within_quote_share_of_the_sentences_content_words() -> None:
    # no substring (other order), but 6 of its 7 content words are in the quote (not "mark")
    assert within_quote("Antibodies to calcium channels mark the Lambert-Eaton syndrome.", QUOTE)
    # 5 content words (syndrome antibodi calcium channel kidney): 4 in the quote = 80%
    assert within_quote("The syndrome: antibodies, calcium channels, kidneys.", QUOTE)
    # 5 content words, 3 in the quote (syndrome, calcium, channel; not kidney, liver) = 60%
    assert not within_quote("The syndrome: calcium channels, kidneys, liver.", QUOTE)


def test_within_quote_markers_do_not_count_as_words() -> None:
    # 5 content words, all in the quote; unstripped, the markers 12 and 13 would make 5 of 7
    sentence = "Voltage-gated channels, neuromuscular junction [12] [13]"
    assert within_quote(sentence, QUOTE)
    assert not within_quote(sentence, "[12] [13]")  # a marker-only quote is empty
    assert not within_quote("[4]", QUOTE)  # so is a marker-only sentence


def test_a_sentence_containing_a_short_quote_is_not_within_it() -> None:
    quote = "antibodies against voltage-gated calcium channels"
    sentence = ("Most patients with small cell lung cancer develop antibodies against "
                "voltage-gated calcium channels.")
    assert not within_quote(sentence, quote)


# ----------------------------------------------------------------------------- precise sentences


def test_sentence_precise_by_key_point_or_quote_and_padding_is_not() -> None:
    # carries the key point (not within the quote: "LEMS", "caused" are not in it)
    assert not within_quote(ON_POINT, QUOTE)
    assert sentence_precise(ON_POINT, [KEY_POINT], [QUOTE])
    assert sentence_precise(ON_POINT, [KEY_POINT], [])
    # within the quote, though it carries no key point
    inside = "Voltage-gated calcium channels at the neuromuscular junction [4]."
    assert sentence_precise(inside, ["steroids"], [QUOTE])
    assert not sentence_precise(inside, ["steroids"], [])
    # no key point, not within a quote
    assert not sentence_precise(PADDING, [KEY_POINT], [QUOTE])
    assert not sentence_precise(ON_POINT, [], [])


def test_key_point_rule_is_the_coverage_rule_applied_per_sentence() -> None:
    # the key point's words spread over two sentences: the answer covers it, neither sentence
    # carries it
    one, two = "Antibodies against channels occur.", "They are voltage-gated calcium ones."
    assert not sentence_precise(one, [KEY_POINT], [])
    assert not sentence_precise(two, [KEY_POINT], [])
    # 4 of the key point's 5 distinct content words (antibodi voltag gat calcium channel) = 80%
    assert sentence_precise("Antibodies hit gated calcium channels [1].", [KEY_POINT], [])
    # 3 of 5 = 60%
    assert not sentence_precise("Antibodies hit calcium channels [1].", [KEY_POINT], [])


def test_answer_precision_is_pooled_over_sentences() -> None:
    a = GradedAnswer((ON_POINT, PADDING, PADDING), (KEY_POINT,), (QUOTE,))  # 1 of 3
    b = GradedAnswer((ON_POINT,), (KEY_POINT,), (QUOTE,))  # 1 of 1
    assert answer_precision([a, b]) == pytest.approx(2 / 4)  # not (1/3 + 1) / 2
    assert answer_precision([a]) == pytest.approx(1 / 3)
    assert answer_precision([]) is None
    assert answer_precision([GradedAnswer((), (KEY_POINT,), (QUOTE,))]) is None


# ----------------------------------------------------------------------------- scoring


def _gold(qid: str, kind: str = "fact", answerable: bool = True) -> GoldQuestion:
    return GoldQuestion(qid, "Which channels do LEMS antibodies target?", "VGCC.",
                        (KEY_POINT,) if answerable else (), (QUOTE,) if answerable else (),
                        ("doc.txt",) if answerable else (), answerable, kind)


def _record(gold: GoldQuestion, sentences: list[tuple[str, list[int], bool | None]],
            abstained: bool = False, note: str = "") -> Record:
    shown = [(t, c) for t, c, ok in sentences if ok is not False]
    answer = {"answer": " ".join(t for t, _ in shown) or "The sources don't cover this.",
              "abstained": abstained, "note": note, "citations": [{"passage": QUOTE}] * 3,
              "sentences": [{"text": t, "citations": c, "supported": ok}
                            for t, c, ok in sentences]}
    return Record(gold, answer, [QUOTE], 1.0, [(t, [QUOTE] * len(c)) for t, c in shown])


def _records() -> list[Record]:
    return [
        # 3 sentences shown (ON_POINT precise), citations {1, 2, 3}; a removed generated
        # sentence with citation 4 counts nowhere
        _record(_gold("a"), [(ON_POINT, [1], True), (PADDING, [2, 1], True),
                             (PADDING, [3], True), (ON_POINT, [4], False)]),
        # 1 sentence, precise, 1 citation; fell back to source sentences
        _record(_gold("b", "numeric"), [(ON_POINT, [1], None)], note=FALLBACK_NOTE),
        # abstained: not an answered question
        _record(_gold("c"), [], abstained=True),
        # unanswerable, answered anyway: left out of precision and shape
        _record(_gold("d", "unanswerable", answerable=False), [(PADDING, [1], None)]),
    ]


def always(sentence: str, passages: object) -> bool:
    return True


def test_answer_metrics_precision_shape_and_fallback() -> None:
    a = answer_metrics(_records(), always, mode="generative")
    assert a["answer_precision"] == 0.5  # 2 precise of the 4 sentences shown for a and b
    assert a["sentences_per_answer"] == 2.0  # (3 + 1) / 2
    assert a["citations_per_answer"] == 2.0  # (3 distinct + 1) / 2
    assert a["fallback_rate"] == pytest.approx(round(1 / 3, 4))  # b of the 3 answerable


def test_fallback_rate_is_absent_in_extractive_mode() -> None:
    a = answer_metrics(_records(), always)
    assert "fallback_rate" not in a and a["answer_precision"] == 0.5
    assert "fallback_rate" not in score(_records(), always)["per_kind"]["fact"]


def test_per_kind_rows_carry_the_new_metrics() -> None:
    rows = per_kind(_records(), always, mode="generative")
    assert rows["fact"]["answer_precision"] == pytest.approx(round(1 / 3, 4))
    assert rows["fact"]["sentences_per_answer"] == 3.0
    assert rows["fact"]["citations_per_answer"] == 3.0
    assert rows["fact"]["fallback_rate"] == 0.0  # a did not fall back, c abstained
    assert rows["numeric"]["answer_precision"] == 1.0
    assert rows["numeric"]["fallback_rate"] == 1.0
    assert rows["unanswerable"]["answer_precision"] is None
    assert rows["unanswerable"]["sentences_per_answer"] is None
    assert rows["unanswerable"]["fallback_rate"] is None
