"""The composition root: build the embedder, index and answerer from `Settings`.

Everything heavy is created on first use, so commands that do not need a model never load
one.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from app.answer import Answer
from app.config import Settings
from index.embedder import Embedder, SentenceTransformerEmbedder
from index.store import Index
from index.sync import IngestSummary, sync
from ingest.chunking import ChunkerSettings


def default_embedder(settings: Settings) -> Embedder:
    return SentenceTransformerEmbedder(settings.embedding_model, settings.embed_batch_size)


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
        self._close_index()  # the next question reopens the updated index
        if rebuild:
            Index.wipe(self.settings.index_dir)
        index = Index(self.settings.index_dir, self.embedder, self._chunker())
        try:
            return sync(index, self.settings.sources_dir, paths, progress=progress)
        finally:
            index.close()

    def _close_index(self) -> None:
        index = self.__dict__.pop("index", None)
        if index is not None:
            index.close()

    @cached_property
    def index(self) -> Index:
        return Index.open_existing(self.settings.index_dir, self.embedder, self._chunker())

    def ask(self, question: str, k: int | None = None,
            doc_ids: list[str] | None = None) -> Answer:
        from app.extractive import ExtractiveAnswerer

        answerer = ExtractiveAnswerer(
            self.index.retriever(), self.settings.abstain_threshold,
            self.settings.max_answer_sentences)
        return answerer.answer(question.strip(), k or self.settings.top_k, doc_ids)
