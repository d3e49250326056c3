"""The one configuration object, read from `CITEWISE_*` environment variables (and `.env`).

Built once at the entry point (CLI or UI) and passed down; nothing else reads the
environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.chunking import ChunkerSettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITEWISE_", env_file=".env",
                                      extra="ignore")

    sources_dir: Path = Field(Path("data/sources"), description="Folder of source documents.")
    index_dir: Path = Field(Path("data/index"), description="Folder the index is kept in.")
    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        description="Packaged model name, a local sentence-transformers folder, or a hub id.")
    embed_batch_size: int = Field(32, ge=1, description="Chunks per embedding batch.")
    chunk_tokens: int = Field(160, ge=32, le=512,
                              description="Target chunk size in model tokens (capped at the "
                                          "model's maximum sequence length).")
    chunk_overlap: int = Field(32, ge=0, description="Overlap between chunks, in tokens.")
    top_k: int = Field(5, ge=1, le=100, description="Passages retrieved for each question.")
    abstain_threshold: float = Field(
        0.39, description="Best-sentence similarity below which the answer is "
                          "\"The sources don't cover this.\" (calibrated: see README).")
    chroma_url: str | None = Field(
        None, description="URL of a Chroma server (`chroma run`) to keep the vectors in, "
                          "e.g. http://127.0.0.1:8000; unset: the embedded store in "
                          "index_dir/chroma. The manifest and BM25 stay in index_dir.")
    max_doc_mb: float = Field(20.0, gt=0,
                              description="Largest document to ingest, in MB (millions of "
                                          "characters) of text; larger ones are listed "
                                          "as failed with the reason.")
    max_answer_sentences: int = Field(4, ge=1, le=5,
                                      description="Most sentences in an extractive answer.")

    # -- answers ------------------------------------------------------------------------------
    answer_mode: Literal["auto", "extractive", "generative"] = Field(
        "auto", description="extractive: source sentences verbatim; generative: a language "
                            "model's own words, each sentence checked against its citations; "
                            "auto: generative when a model is available, else extractive.")
    llm_base_url: str | None = Field(
        None, description="OpenAI-compatible chat server to generate with (Ollama, vLLM, "
                          "llama.cpp server, hosted APIs), e.g. http://127.0.0.1:11434/v1; "
                          "unset: the local model.")
    llm_model: str = Field("default", description="Model name sent to that server.")
    llm_api_key: SecretStr | None = Field(None, description="API key for that server.")
    llm_model_path: Path | None = Field(
        None, description="A GGUF model file to run in-process; unset: the packaged "
                          "Qwen2.5-Coder-1.5B-Instruct (Q4_K_M).")
    model_cache_dir: Path = Field(Path("data/models"),
                                  description="Where the packaged model file is assembled.")
    llm_threads: int = Field(2, ge=1, description="CPU threads of the local model.")
    llm_context: int = Field(4096, ge=512, description="Context window of the local model, "
                                                       "in tokens.")
    llm_max_tokens: int = Field(200, ge=16, description="Longest generated answer, in tokens.")
    llm_evidence: int = Field(4, ge=1, le=20,
                              description="Source sentences given to the model as evidence.")

    # -- the web UI (`citewise serve`) ---------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address the web UI listens on; the default is "
                                               "this machine only (0.0.0.0: every network).")
    port: int = Field(7860, ge=1, le=65535, description="Port of the web UI.")
    auth_username: str | None = Field(None, description="Web UI login name (set it with "
                                                        "auth_password to require a login).")
    auth_password: SecretStr | None = Field(None, description="Web UI password.")
    max_upload_mb: float = Field(20.0, gt=0, description="Largest file the web UI accepts "
                                                         "as an upload, in MB.")
    queue_size: int = Field(64, ge=1, description="Most requests waiting in the web UI's "
                                                  "queue; more are refused as busy.")
    concurrency_limit: int = Field(4, ge=1, description="Questions answered at the same "
                                                        "time by the web UI.")
    feedback_dir: Path = Field(Path("data/feedback"), description="Folder of feedback.jsonl "
                                                                  "(ratings from the web UI).")

    def chunker(self, max_tokens: int) -> ChunkerSettings:
        return ChunkerSettings(chunk_tokens=min(self.chunk_tokens, max_tokens),
                               overlap_tokens=self.chunk_overlap, max_tokens=max_tokens)
