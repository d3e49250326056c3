"""The one configuration object, read from `CITEWISE_*` environment variables (and `.env`).

Built once at the entry point (CLI or UI) and passed down; nothing else reads the
environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.chunking import ChunkerSettings
from ingest.errors import ConfigError

# The abstention threshold is compared with the best candidate sentence's answer score
# (`app.answer.evidence.gather`): its cosine to the question (-1 to 1) less
# `index.hybrid.RESTATEMENT_PENALTY` (0.4) times the share (0 to 1) of its words the
# question already has. The term-share bonus is added only after that check, when ranking.
# So the score lies in [-1.4, 1]: a threshold above 1 abstains on every question, and one
# at -1.4 never abstains.
SCORE_MIN, SCORE_MAX = -1.4, 1.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITEWISE_", env_file=".env",
                                      extra="ignore", allow_inf_nan=False)

    sources_dir: Path = Field(Path("data/sources"), description="Folder of source documents.")
    index_dir: Path = Field(Path("data/index"), description="Folder the index is kept in.")
    embedding_model: str = Field(
        "all-MiniLM-L6-v2-int8",
        description="Packaged model name (all-MiniLM-L6-v2-int8, int8 ONNX, no torch; "
                    "all-MiniLM-L6-v2, fp32), a local sentence-transformers folder, or a "
                    "hub id. Unset, an index built with the fp32 model keeps it "
                    "(app.service.embedding_model).")
    embed_batch_size: int = Field(32, ge=1, le=4096, description="Chunks per embedding batch.")
    embed_bf16: Literal["auto", "on", "off"] = Field(
        "auto",
        description="Embed large batches (ingest) in bfloat16 on torch: `auto` where the "
                    "CPU has AMX-BF16 tiles, about 2.5x faster there, cosine 0.99998 to "
                    "float32 (index.bulk); questions are always float32.")
    sentence_vectors: Literal["pooled", "separate"] = Field(
        "separate",
        description="How sentence vectors are made at ingest: `pooled` from the chunk's own "
                    "encoder pass (one pass per chunk), `separate`: each sentence encoded "
                    "alone (index.sentence_vectors).")
    chunk_tokens: int = Field(160, ge=32, le=512,
                              description="Target chunk size in model tokens (capped at the "
                                          "model's maximum sequence length).")
    chunk_overlap: int = Field(32, ge=0, le=511,
                               description="Overlap between chunks, in tokens; below the "
                                           "chunk size (checked with chunk_tokens).")
    top_k: int = Field(5, ge=1, le=100, description="Passages retrieved for each question.")
    abstain_threshold: float = Field(
        0.39, ge=SCORE_MIN, le=SCORE_MAX,
        description="Best-sentence score below which the answer is \"The sources don't "
                    "cover this.\" (calibrated: see README). The score is a cosine (-1 to "
                    "1) less a restatement penalty of up to 0.4, so it lies in -1.4 to 1: "
                    "above 1 every question would abstain, -1.4 never abstains.")
    chroma_url: str | None = Field(
        None, description="URL of a Chroma server (`chroma run`) to keep the vectors in, "
                          "e.g. http://127.0.0.1:8000; unset: the embedded store in "
                          "index_dir/chroma. The manifest and BM25 stay in index_dir.")
    max_doc_mb: float = Field(20.0, gt=0,
                              description="Largest document to ingest, in MB (millions of "
                                          "characters) of text; larger ones are listed "
                                          "as failed with the reason.")
    max_doc_seconds: float = Field(60.0, gt=0, le=86400,
                                   description="Longest time to read one document, in "
                                               "seconds; one that takes longer is listed as "
                                               "failed with the reason.")
    ocr: Literal["auto", "off"] = Field(
        "auto", description="auto: a PDF page with no text layer (a scan) is read by OCR "
                            "(tesseract, ingest/ocr.py); off: it is not, and a PDF with no "
                            "text layer at all is listed as failed with the reason.")
    max_answer_sentences: int = Field(4, ge=1, le=5,
                                      description="Most sentences in an answer, in both modes "
                                                  "(a list given as one sentence counts "
                                                  "once).")

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
    llm_threads: int = Field(2, ge=1, le=256, description="CPU threads of the local model.")
    llm_context: int = Field(4096, ge=512, le=131072,
                             description="Context window of the local model, in tokens.")
    llm_max_tokens: int = Field(200, ge=16, le=131072,
                                description="Longest generated answer, in tokens; below "
                                            "llm_context (checked).")
    llm_evidence: int = Field(4, ge=1, le=20,
                              description="Source sentences given to the model as evidence.")
    model_judge: Literal["auto", "on", "off"] = Field(
        "auto", description="Have the language model judge whether the best source sentences "
                            "answer the question before answering (app/answer/"
                            "answerability.py); auto: in generative mode; on: in extractive "
                            "mode too (it loads the model); off: never.")
    judge: bool = Field(False, description="Judge whether each source sentence answers the "
                                          "question before it is used "
                                          "(app/answer/responsive.py); off: topic only.")

    # -- the web UI (`citewise serve`) ---------------------------------------------------------
    host: str = Field("127.0.0.1", description="Address the web UI listens on; the default is "
                                               "this machine only (0.0.0.0: every network).")
    port: int = Field(7860, ge=1, le=65535, description="Port of the web UI.")
    auth_username: str | None = Field(None, description="Web UI login name (set it with "
                                                        "auth_password to require a login).")
    auth_password: SecretStr | None = Field(None, description="Web UI password.")
    max_upload_mb: float = Field(20.0, gt=0, description="Largest file the web UI accepts "
                                                         "as an upload, in MB.")
    queue_size: int = Field(64, ge=1, le=100_000,
                            description="Most requests waiting in the web UI's queue; more "
                                        "are refused as busy.")
    concurrency_limit: int = Field(4, ge=1, le=1024, description="Questions answered at the same "
                                                        "time by the web UI.")
    # -- the HTTP API (`/v1` on the `citewise serve` server, app/api/) --------------------------
    api_keys: SecretStr | None = Field(
        None, description="Bearer keys for the HTTP API, comma-separated; unset: the API "
                          "needs no key on a loopback host without a login, and is closed "
                          "when a web UI login is set.")
    api_concurrency: int = Field(4, ge=1, le=1024,
                                 description="Questions the HTTP API answers at the same time.")
    api_queue_size: int = Field(64, ge=0, le=100_000,
                                description="Most API questions waiting for a free slot; "
                                            "more get 429 with Retry-After.")
    feedback_dir: Path = Field(Path("data/feedback"), description="Folder of feedback.jsonl "
                                                                  "(ratings from the web UI).")
    history: bool = Field(True, description="Keep the web chat's conversations (and API "
                                            "ones that ask) in the chat history.")
    history_path: Path | None = Field(
        None, description="The chat history's SQLite file; unset: history.sqlite3 in "
                          "index_dir (`ingest --rebuild` keeps it).")

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError(
                f"CITEWISE_CHUNK_OVERLAP={self.chunk_overlap} must be below "
                f"CITEWISE_CHUNK_TOKENS={self.chunk_tokens}: allowed 0 to "
                f"{self.chunk_tokens - 1} (an overlap as large as the chunk repeats every "
                "passage)")
        if self.llm_max_tokens >= self.llm_context:
            raise ValueError(
                f"CITEWISE_LLM_MAX_TOKENS={self.llm_max_tokens} must be below "
                f"CITEWISE_LLM_CONTEXT={self.llm_context}: allowed 16 to "
                f"{self.llm_context - 1} (the prompt needs room too)")
        return self

    @property
    def history_file(self) -> Path:
        """Where the chat history is kept: `history_path`, else `index_dir/history.sqlite3`."""
        return self.history_path or self.index_dir / "history.sqlite3"

    def chunker(self, max_tokens: int) -> ChunkerSettings:
        size = min(self.chunk_tokens, max_tokens)
        if self.chunk_overlap >= size:
            raise ConfigError(
                f"CITEWISE_CHUNK_OVERLAP={self.chunk_overlap} must be below the chunk size, "
                f"{size} tokens here (CITEWISE_CHUNK_TOKENS capped at the embedding model's "
                f"{max_tokens}): set it to 0-{size - 1}.")
        return ChunkerSettings(chunk_tokens=size, overlap_tokens=self.chunk_overlap,
                               max_tokens=max_tokens)


def setting_error(exc: ValidationError) -> str:
    """One sentence for a bad setting: the variable, what was given, the allowed range."""
    err = exc.errors()[0]
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        msg = "out of range"
    if not err["loc"]:  # a check across settings (`_consistent`): its message names them
        return f"Bad settings: {msg}."
    name = str(err["loc"][0])
    var = f"CITEWISE_{name.upper()}"
    given = err.get("input")
    shown = f"={given}" if isinstance(given, (str, int, float)) else ""
    field = Settings.model_fields.get(name)
    allowed = _allowed(field.metadata) if field is not None else ""
    return (f"Bad setting {var}{shown}: {msg[:1].lower() + msg[1:]}"
            + (f"; allowed: {allowed}" if allowed else "") + ".")


def _allowed(metadata: list) -> str:
    """The range that `Field(ge=..., le=...)` constraints allow, in words."""
    low = high = ""
    for m in metadata:
        for attr, words in (("ge", "from {}"), ("gt", "above {}")):
            if getattr(m, attr, None) is not None:
                low = words.format(f"{getattr(m, attr):g}")
        for attr, words in (("le", "to {}"), ("lt", "below {}")):
            if getattr(m, attr, None) is not None:
                high = words.format(f"{getattr(m, attr):g}")
    if low and high:
        return f"{low} {high}" if high.startswith("to") else f"{low}, {high}"
    if low:
        return low.replace("from", "at least")
    return high.replace("to", "at most")
