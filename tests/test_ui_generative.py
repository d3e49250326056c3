"""Generative answers in the chat, with a fake language model (`ScriptedGenerator`): the
draft streams in marked as being checked, the verified answer replaces it with a badge per
sentence, unsupported sentences are struck through and left out, the extractive fallback
shows its note, an unavailable mode is one sentence in the chat, everything the model
writes is escaped, and follow-ups are rewritten by the model. No gradio here; the real
model runs in one test marked slow."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from app.answer.generative import FALLBACK_NOTE
from app.config import Settings
from app.service import Citewise
from app.web import render
from app.web.turn import ChatView, chat_turn
from ingest.errors import GeneratorError
from tests.conftest import DEFAULT_SOURCES, QUESTION
from tests.fakes import HashingEmbedder, ScriptedGenerator, numbered_sources
from tests.ui_samples import XSS, FakeAnswerer, answer, assert_inert

INVENTED = "Paraneoplastic muscle weakness is cured by drinking seawater for 40 days."
FOLLOW_UP = "And how is it treated?"
MODEL_QUERY = "Which drugs treat Lambert-Eaton myasthenic syndrome?"  # not what rules say


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The default corpus, indexed once with the fake embedder; answers are generative."""
    root = tmp_path_factory.mktemp("generative-ui")
    shutil.copytree(DEFAULT_SOURCES, root / "sources")
    settings = Settings(sources_dir=root / "sources", index_dir=root / "index",
                        answer_mode="generative", _env_file=None)
    Citewise(settings, HashingEmbedder()).ingest()
    return settings


def model(reply: Callable[[list[str]], str]) -> ScriptedGenerator:
    """A fake model whose answer is `reply(evidence sentences)`; to a rewrite prompt (no
    evidence) it answers `MODEL_QUERY`."""
    return ScriptedGenerator(lambda messages: reply(numbered_sources(messages))
                             if numbered_sources(messages) else MODEL_QUERY)


def serve(corpus: Settings, generator: ScriptedGenerator | None, **changes) -> Citewise:
    return Citewise(corpus.model_copy(update=changes), HashingEmbedder(), generator)


def turn(service: Citewise, question: str = QUESTION, history=(), mode: str | None = None
         ) -> list[ChatView]:
    return list(chat_turn(service, question, list(history), mode=mode))


def faithful(evidence: list[str]) -> str:
    return f"{evidence[0]} [1]"


def test_draft_streams_marked_as_being_checked_then_the_verified_answer_replaces_it(
        corpus: Settings) -> None:
    views = turn(serve(corpus, model(faithful)))
    drafts = [v for v in views if v.draft is not None]
    assert len(drafts) > 3 and not any(v.done for v in drafts)
    assert [len(v.draft or "") for v in drafts] == sorted({len(v.draft or "") for v in drafts})
    for view in drafts:
        html = view.transcript_html
        assert 'data-kind="draft"' in html and 'aria-busy="true"' in html
        assert render.esc(render.CHECKING) in html and "cw-cite" not in html
    final = views[-1]
    assert final.done and final.draft is None and final.pieces is None
    html = final.transcript_html
    assert 'data-kind="answer"' in html and "aria-busy" not in html and "cw-draft" not in html
    assert html.count('data-supported="true"') == 1 and "✓" in html
    assert 'href="#cw-src-1-1"' in html and 'id="cw-src-1-1"' in final.sources_html
    assert "checked against the sources it cites" in html and "removed" not in html
    answer = final.turns[-1].answer
    assert answer is not None and answer.mode == "generative"
    assert all(s.supported for s in answer.sentences)
    # The verified answer replaces the draft at once: no word-by-word replay of it.
    assert views.index(final) == views.index(drafts[-1]) + 1


def test_unsupported_sentences_are_struck_through_and_left_out(corpus: Settings) -> None:
    service = serve(corpus, model(lambda ev: f"{ev[0]} [1] {INVENTED} [2]"))
    final = turn(service)[-1]
    answer = final.turns[-1].answer
    assert answer is not None
    assert [s.supported for s in answer.sentences] == [True, False]
    assert INVENTED not in answer.text  # not part of the answer ...
    html = final.transcript_html
    m = assert_inert(html)
    assert html.count('data-supported="false"') == 1
    removed = html[html.index('data-supported="false"'):]
    assert f'<del class="cw-removed">{render.esc(INVENTED)}</del>' in removed  # ... but shown
    assert render.esc(render.REMOVED_LABEL) in removed and "cw-cite" not in \
        removed.split("</span></span>")[0]
    assert "1 sentence not supported by the sources removed" in "".join(m.text)
    assert html.count('class="cw-cite"') == 1 and len(answer.citations) == 1


def test_nothing_verified_falls_back_to_source_sentences_with_a_note(
        corpus: Settings) -> None:
    views = turn(serve(corpus, model(lambda ev: f"{INVENTED} [1]")))
    final = views[-1]
    answer = final.turns[-1].answer
    assert answer is not None and answer.note == FALLBACK_NOTE and not answer.abstained
    html = final.transcript_html
    assert '<div class="cw-note">' in html and render.esc(FALLBACK_NOTE) in html
    assert 'data-kind="answer"' in html and 'class="cw-cite"' in html
    assert "data-supported" not in html and INVENTED not in html  # source sentences only
    assert any(v.draft for v in views)  # the draft was shown while it was written
    assert views[-2].draft is not None  # then the fallback, at once


def test_a_refusing_model_gives_the_abstention(corpus: Settings) -> None:
    final = turn(serve(corpus, model(lambda ev: "The sources don't cover this.")))[-1]
    assert 'data-kind="abstain"' in final.transcript_html
    assert "cw-source-group" not in final.sources_html


def test_generative_mode_without_a_model_is_one_sentence_in_the_chat(
        corpus: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.llm.backends.make_generator", lambda settings: None)
    service = serve(corpus, None)
    assert service.generator is None
    views = turn(service, mode="generative")
    assert len(views) == 1 and views[0].done
    error = views[0].turns[-1].error or ""
    assert error.startswith("Generative answers need a language model:")
    assert "CITEWISE_LLM_BASE_URL" in error and "Traceback" not in error
    assert 'data-kind="error"' in views[0].transcript_html
    auto = turn(service, mode="auto")[-1]  # auto falls back to extractive answers
    assert auto.turns[-1].answer is not None and auto.turns[-1].answer.mode == "extractive"
    unknown = turn(service, mode="poetic")[-1]
    assert "Unknown answer mode 'poetic'" in (unknown.turns[-1].error or "")


def test_modes_choose_how_the_answer_is_made(corpus: Settings) -> None:
    generator = model(faithful)
    service = serve(corpus, generator, answer_mode="auto")
    extractive = turn(service, mode="extractive")
    assert generator.calls == [] and not any(v.draft for v in extractive)
    assert extractive[-1].turns[-1].answer.mode == "extractive"  # type: ignore[union-attr]
    assert sum(v.pieces is not None for v in extractive) > 1  # word by word, as before
    default = turn(service, mode=None)[-1]  # the settings' mode: auto, and a model is here
    assert default.turns[-1].answer.mode == "generative"  # type: ignore[union-attr]
    assert len(generator.calls) == 1


def test_everything_the_model_writes_is_escaped(corpus: Settings) -> None:
    hostile = ('<script>window.__pwned=1</script> <img src=x onerror="window.__pwned=1"> '
               + XSS)
    service = serve(corpus, model(lambda ev: f"{ev[0]} [1] {hostile} [2]"))
    views = turn(service)
    assert any(v.draft and "<script>" in v.draft for v in views)
    for view in views:
        m = assert_inert(view.transcript_html)
        assert_inert(view.sources_html)
        assert "script" not in m.tags and "img" not in m.tags
    shown = "".join(assert_inert(views[-1].transcript_html).text)
    assert "<script>window.__pwned=1</script>" in shown  # shown as text, struck through
    assert 'data-supported="true"' in views[-1].transcript_html
    draft = [v for v in views if v.draft][-1]  # the whole draft
    assert '<img src=x onerror="window.__pwned=1">' in "".join(
        assert_inert(draft.transcript_html).text)


def test_draft_and_badges_render_safely_by_hand() -> None:
    """The rendering alone: a hostile draft, note and model name stay text."""
    service = FakeAnswerer(lambda q, k, d: answer(q), draft=["<b>bold", XSS], generative=True)
    views = list(chat_turn(service, "q", []))
    assert views[-2].draft == f"<b>bold{XSS}"
    assert_inert(views[-2].transcript_html)
    assert_inert(render.note(XSS) + render.checked_footer(XSS, 2) + render.draft(XSS))


def test_follow_ups_are_rewritten_by_the_model(corpus: Settings) -> None:
    generator = model(faithful)
    service = serve(corpus, generator)
    first = turn(service)[-1]
    views = turn(service, FOLLOW_UP, first.turns)
    rewrite = generator.calls[1]  # the rewrite prompt, then the answer prompt
    assert not numbered_sources(rewrite) and QUESTION in rewrite[-1]["content"]
    assert FOLLOW_UP in rewrite[-1]["content"]
    assert "searched for" not in views[0].transcript_html  # the question shows at once ...
    final = views[-1]
    assert f"searched for: {MODEL_QUERY}" in final.transcript_html  # ... then the query
    assert final.turns[-1].query == MODEL_QUERY
    assert final.turns[-1].topic == "drugs Lambert-Eaton myasthenic syndrome"
    assert MODEL_QUERY in generator.calls[2][-1]["content"]  # and it is what was asked


def test_follow_ups_are_rewritten_by_rules_in_extractive_mode(corpus: Settings) -> None:
    generator = model(faithful)
    service = serve(corpus, generator, answer_mode="auto")
    first = turn(service, mode="extractive")[-1]
    final = turn(service, FOLLOW_UP, first.turns, mode="extractive")[-1]
    assert generator.calls == []
    assert final.turns[-1].query == "How is paraneoplastic muscle weakness treated?"


def test_a_model_that_fails_midway_leaves_a_message(corpus: Settings) -> None:
    class Broken(ScriptedGenerator):
        def stream(self, messages, max_tokens):
            yield "Paraneoplastic"
            raise GeneratorError("Cannot reach the language model server at x: start it.")

    views = turn(serve(corpus, Broken()))
    assert views[-2].draft == "Paraneoplastic"
    assert views[-1].turns[-1].error == \
        "Cannot reach the language model server at x: start it."
    assert 'data-kind="error"' in views[-1].transcript_html


@pytest.mark.slow
def test_the_packaged_model_warms_up_and_answers_verified(tmp_path: Path) -> None:
    """The real local model (about 1 GB, seconds per answer on 2 cores)."""
    from app.llm import model_file
    from app.llm.backends import LocalLlama
    from app.web.warm import warm_up

    if not model_file.available():
        pytest.fail("The packaged language model is not installed: " + model_file.INSTALL_HINT)
    shutil.copytree(DEFAULT_SOURCES, tmp_path / "sources")
    settings = Settings(sources_dir=tmp_path / "sources", index_dir=tmp_path / "index",
                        model_cache_dir=Path("data/models").absolute(), answer_mode="auto",
                        _env_file=None)
    service = Citewise(settings, HashingEmbedder())
    service.ingest()
    generator = service.generator
    assert isinstance(generator, LocalLlama)
    warm_up(service)
    assert generator._client is not None  # loaded before the first question
    views = turn(service)
    assert any(v.draft for v in views)
    final = views[-1]
    answer = final.turns[-1].answer
    assert answer is not None and final.turns[-1].error is None
    for view in views:
        assert_inert(view.transcript_html)
    if answer.mode == "generative" and not answer.abstained:
        assert 'data-supported="true"' in final.transcript_html
        assert all(s.citations for s in answer.final_sentences)
