"""Generative answers shaped to the question and repaired: the shape hint in the prompt,
a second narrower attempt after a failed draft, the source's best sentence or whole list
added to what the model chose, and evidence that carries the sentences it needs."""

from __future__ import annotations

import pytest

from app.answer.generative import REPAIR_EVIDENCE, SOURCE_SENTENCE, WHOLE_LIST
from app.answer.prompt import SHAPE_HINTS, answer_messages
from app.answer.shape import question_shape
from tests.fakes import copy_first_source, generative, numbered_sources

QUESTION = "Which antibodies characterize LEMS voltage-gated calcium channels?"


def test_a_draft_that_fails_is_written_again_from_the_best_two_sentences(settings,
                                                                       embedder) -> None:
    def second_time_right(messages):
        if len(model.calls) == 1:
            return "Drinking two litres of orange juice cures it [1]."
        return copy_first_source(messages)

    service, model = generative(settings, embedder, second_time_right)
    events = list(service.stream(QUESTION))
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("Retry") == 1 and kinds[-1] == "Final"
    assert kinds.index("Retry") < len(kinds) - 2  # drafts of the second attempt follow it
    answer = events[-1].answer
    assert answer.mode == "generative" and answer.note == ""
    assert [s.supported for s in answer.sentences] == [True]
    assert "orange" not in answer.text
    first, second = (numbered_sources(call) for call in model.calls)
    assert len(first) > REPAIR_EVIDENCE and second == first[:REPAIR_EVIDENCE]
    assert answer.timings["attempts"] == 2


@pytest.mark.parametrize(("question", "hint"), [
    ("Does LEMS always come with small-cell lung cancer?", "Open with Yes or No"),
    ("List the antibodies that characterize LEMS.", "Name every item"),
])
def test_the_prompt_asks_for_the_shape_of_answer_the_question_wants(settings, embedder,
                                                                    question, hint) -> None:
    service, model = generative(settings, embedder)
    service.ask(question)
    if model.calls:  # the question may be refused before the model is asked
        assert hint in model.calls[0][-1]["content"]
    assert answer_messages(question, ["x"], question_shape(question))[-1]["content"] \
        .endswith(f"({SHAPE_HINTS[question_shape(question)]})")


def test_the_best_source_sentence_is_added_when_the_model_leaves_it_out(settings,
                                                                      embedder) -> None:
    def copy_last_source(messages):
        return f"{numbered_sources(messages)[-1]} [{len(numbered_sources(messages))}]"

    service, _ = generative(settings, embedder, copy_last_source)
    answer = service.ask(QUESTION)
    extractive = service.ask(QUESTION, mode="extractive")
    assert [s.reason for s in answer.sentences][-1] == SOURCE_SENTENCE
    added, cite = answer.sentences[-1], answer.citations[-1]
    assert added.text == extractive.sentences[0].text and added.citations == (cite.id,)
    assert (cite.doc_id, cite.start) == (extractive.citations[0].doc_id,
                                          extractive.citations[0].start)
    doc_text = service.index.manifest.doc_text(cite.doc_id)
    assert doc_text[cite.start:cite.end] == cite.quote
    # a model that already cites the best sentence gets nothing added
    service, _ = generative(settings, embedder)
    assert SOURCE_SENTENCE not in [s.reason for s in service.ask(QUESTION).sentences]


def test_a_list_the_model_gives_in_part_is_shown_whole_and_cited_once(settings,
                                                                     embedder) -> None:
    question = ("List the cancers and syndromes that have been linked to paraneoplastic "
                "muscle weakness.")

    def two_items(messages):
        assert numbered_sources(messages)[0].startswith(
            "Paraneoplastic muscle weakness has been associated with various cancers")
        return ("Paraneoplastic muscle weakness has been associated with small-cell lung "
                "cancer and Lambert-Eaton myasthenic syndrome [1].")

    service, _ = generative(settings, embedder, two_items)
    answer = service.ask(question)
    first, cite = answer.sentences[0], answer.citations[0]
    assert first.reason == WHOLE_LIST and first.citations == (cite.id,)
    assert "; Stiffman syndrome;" in first.text and "Adenocarcinoma of the lung" in first.text
    doc_text = service.index.manifest.doc_text(cite.doc_id)
    assert doc_text[cite.start:cite.end] == cite.quote and "• Stiffman syndrome" in cite.quote
    assert sum(s.reason == WHOLE_LIST for s in answer.sentences) == 1


def test_evidence_brings_the_sentences_that_go_on_from_it(settings, embedder) -> None:
    service, model = generative(settings, embedder)
    answer = service.ask("Which nervous system problems can paraneoplastic neurological "
                         "syndrome lead to?")
    lines = [line for call in model.calls for line in numbered_sources(call)]
    joined = [line for line in lines if "The bigger picture" in line]
    assert joined and all("This leads to encephalitis" in line for line in joined)
    for cite in answer.citations:  # a joined line is cited to its exact span
        doc_text = service.index.manifest.doc_text(cite.doc_id)
        assert doc_text[cite.start:cite.end] == cite.quote
