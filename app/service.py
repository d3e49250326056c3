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

from collections.abc import Callable
from functools import cached_property
from pathlib import Path

from app.answer import Answer
from app.config import Settings
from index.embedder import Embedder, make_embedder
from index.lock import IndexLock
from index.store import Index
from index.sync import IngestSummary, sync
from index.watch import StopEvent
from ingest.chunking import ChunkerSettings
from ingest.errors import CitewiseError


def default_embedder(settings: Settings) -> Embedder:
    return make_embedder(settings.embedding_model, settings.embed_batch_size)


class Citewise:
    def __init__(self, settings: Settings, embedder: Embedder | None = None):
        self.settings = settings
        self._embedder = embedder

    @cached_property
    def embedder(self) -> Embedder:
        return self._embedder or default_embedder(self.settings)

    def _chunker(self) -> ChunkerSettings:
        return self.settings.chunker(self.embedder.max_tokens)

    def ingest(self, paths: list[Path] | None = None, rebuild: bool = False,
               progress: bool = False) -> IngestSummary:
        """Sync the index to the sources (or just `paths`); `IndexBusyError` if another
        ingest is writing it."""
        with IndexLock(self.settings.index_dir):
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

        with IndexLock(self.settings.index_dir):
            follow(self.settings.sources_dir, run, debounce_ms=debounce_ms,
                   stop_event=stop_event, ignore=[self.settings.index_dir])

    def _sync(self, paths: list[Path] | None, rebuild: bool, progress: bool) -> IngestSummary:
        """The sync itself; the caller holds the writer lock."""
        settings = self.settings
        if rebuild:
            self._close_index()  # its files and collections are about to go
            Index.wipe(settings.index_dir, settings.chroma_url)
        index = Index(settings.index_dir, self.embedder, self._chunker(), settings.chroma_url)
        try:
            summary = sync(index, settings.sources_dir, paths, progress=progress,
                           max_doc_chars=int(settings.max_doc_mb * 1_000_000))
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

    def ask(self, question: str, k: int | None = None,
            doc_ids: list[str] | None = None) -> Answer:
        from app.extractive import ExtractiveAnswerer

        answerer = ExtractiveAnswerer(
            self.index.retriever(), self.settings.abstain_threshold,
            self.settings.max_answer_sentences)
        return answerer.answer(question.strip(), k or self.settings.top_k, doc_ids)
