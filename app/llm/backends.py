"""Language models that write generative answers, behind one small protocol.

A `Generator` streams the reply to a list of chat messages. Two kinds:

- `OpenAIChat`: any OpenAI-compatible chat server (Ollama, vLLM, llama.cpp's server, hosted
  APIs) by base URL, model name and optional key; `POST {base}/chat/completions` with
  `"stream": true`, read as server-sent events.
- `LocalLlama`: a GGUF file run in this process by llama.cpp (`xllamacpp`), with the
  model's own chat template. xllamacpp's in-process server also answers the OpenAI API on a
  loopback port, so `LocalLlama` is that server plus an `OpenAIChat` pointed at it.

xllamacpp was chosen over llama-cpp-python because it is a prebuilt wheel that installs in
seconds, where llama-cpp-python compiles llama.cpp for ~9 minutes in every fresh venv on
these 2-core machines; both run the same llama.cpp code.

`make_generator(settings)` picks one from the settings, or returns None when none is
configured or installed (answer mode `auto` then falls back to extractive answers).
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ingest.errors import ConfigError, GeneratorError

if TYPE_CHECKING:
    from app.config import Settings

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}
PROMPT_CACHE = "prompt-cache"  # folder of CITEWISE_MODEL_CACHE_DIR (`app.llm.prefix_cache`)


class Generator(Protocol):
    name: str

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        """The reply, piece by piece as the model writes it (greedy decoding)."""
        ...


class OpenAIChat:
    """A chat model behind an OpenAI-compatible HTTP API."""

    def __init__(self, base_url: str, model: str = "default", api_key: str | None = None,
                 timeout_s: float = 120.0):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.name = f"{model} at {self.base_url}"
        self._no_logprobs = False  # the server answered without them once

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        import httpx

        headers = self._headers()
        body = {"model": self.model, "messages": list(messages), "stream": True,
                "max_tokens": max_tokens, "temperature": 0.0, "seed": 0}
        url = f"{self.base_url}/chat/completions"
        try:
            with httpx.stream("POST", url, json=body, headers=headers,
                              timeout=self.timeout_s) as response:
                if response.status_code != 200:
                    response.read()
                    raise GeneratorError(
                        f"The language model server at {self.base_url} answered "
                        f"{response.status_code}: {response.text[:200]!r}; check "
                        "CITEWISE_LLM_BASE_URL, CITEWISE_LLM_MODEL and CITEWISE_LLM_API_KEY.")
                yield from _sse_deltas(response.iter_lines())
        except httpx.HTTPError as exc:
            raise GeneratorError(
                f"Cannot reach the language model server at {self.base_url} ({exc}); start "
                "it, or fix CITEWISE_LLM_BASE_URL.") from None

    def first_token_probabilities(self, messages: Sequence[Message]) -> dict[str, float] | None:
        """The likeliest first tokens of the reply with their probabilities (stripped, lower
        case; `app.answer.answerability`), or None when the server gives no log
        probabilities or fails: the caller then judges without them. A server that answers
        without log probabilities is not asked again."""
        import httpx

        if self._no_logprobs:
            return None
        body = {"model": self.model, "messages": list(messages), "max_tokens": 1,
                "temperature": 0.0, "seed": 0, "logprobs": True, "top_logprobs": 10}
        try:
            response = httpx.post(f"{self.base_url}/chat/completions", json=body,
                                  headers=self._headers(), timeout=self.timeout_s)
        except httpx.HTTPError:
            return None
        try:
            top = response.json()["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        except (ValueError, KeyError, IndexError, TypeError):
            self._no_logprobs = response.status_code == 200
            return None
        return probabilities_from_logprobs(top) or None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


def probabilities_from_logprobs(top: Sequence[dict]) -> dict[str, float]:
    """An OpenAI `top_logprobs` list as token -> probability, tokens stripped and lower
    case, the probabilities of tokens that meet summed ("Yes" and " yes")."""
    out: dict[str, float] = {}
    for item in top:
        token = str(item.get("token", "")).strip().lower()
        if token:
            out[token] = out.get(token, 0.0) + math.exp(float(item["logprob"]))
    return out


def _sse_deltas(lines: Iterator[str]) -> Iterator[str]:
    """The text deltas of an OpenAI chat-completions event stream."""
    for line in lines:
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            event = json.loads(data)
        except json.JSONDecodeError:
            continue
        if "error" in event:
            raise GeneratorError(f"The language model failed: {event['error']}.")
        for choice in event.get("choices") or ():
            text = (choice.get("delta") or {}).get("content")
            if text:
                yield text


class LocalLlama:
    """A GGUF model run in-process by llama.cpp (xllamacpp), loaded on first use.

    One server per process with one slot: llama.cpp queues concurrent requests, so the
    object is safe to share between threads (on 2 cores, parallel slots would only split
    the same CPU).
    """

    def __init__(self, model_path: Path, context_tokens: int = 4096, threads: int = 2,
                 prompt_cache_dir: Path | None = None):
        """`prompt_cache_dir`: where `prime` keeps the prompt prefix it read
        (`app.llm.prefix_cache`); None: it is read again in every process."""
        self.model_path = model_path
        self.context_tokens = context_tokens
        self.threads = threads
        self.prompt_cache_dir = prompt_cache_dir
        self.name = model_path.name
        self._server: Any = None
        self._client: OpenAIChat | None = None
        self._lock = threading.Lock()
        self._primed = False

    def _load(self) -> OpenAIChat:
        with self._lock:
            if self._client is None:
                try:
                    import xllamacpp
                except ImportError:
                    raise ConfigError("Local models need the xllamacpp package: pip install "
                                      "xllamacpp (`make install` does it), or set "
                                      "CITEWISE_ANSWER_MODE=extractive.") from None
                if not self.model_path.is_file():
                    raise ConfigError(f"No model file at {self.model_path}: fix "
                                      "CITEWISE_LLM_MODEL_PATH.")
                params = xllamacpp.CommonParams()
                params.model.path = str(self.model_path)
                params.n_ctx = self.context_tokens
                params.n_parallel = 1
                params.cpuparams.n_threads = self.threads
                params.cpuparams_batch.n_threads = self.threads
                params.verbosity = -1  # llama.cpp logs every request to stderr otherwise
                params.warmup = False
                if self.prompt_cache_dir is not None:  # enables /slots save and restore
                    self.prompt_cache_dir.mkdir(parents=True, exist_ok=True)
                    params.slot_save_path = str(self.prompt_cache_dir) + os.sep
                try:
                    self._server = xllamacpp.Server(params)
                except Exception as exc:  # llama.cpp raises plain RuntimeErrors
                    raise GeneratorError(f"Cannot load the model {self.model_path} ({exc}): "
                                         "is it a GGUF file?") from None
                self._client = OpenAIChat(self._server.listening_address + "/v1",
                                          timeout_s=600.0)
            return self._client

    def load(self) -> None:
        """Load the model now (the UI does this at start-up, not on the first question)."""
        self._load()

    def prime(self, *prefixes: Sequence[Message]) -> bool:
        """Have the model read `prefixes`, the fixed beginnings of later prompts (the
        answer's, the answerability judge's), now, once per process: each from its file in
        the prompt cache when saved there, else by reading it and saving the file. The one
        slot holds one prefix: before the next is put there, a one-token request moves the
        slot into llama.cpp's prompt cache in RAM, where a later prompt finds it (measured:
        the judge's prefix restored so instead of read, 1.2 s instead of 6.7-8.5 s of
        priming, and neither the judge's call nor the answer's first token slower; see
        docs/benchmarks.md). True when every prefix was restored from disk."""
        client = self._load()
        with self._lock:
            if self._primed:
                return False
            self._primed = True
        restored = True
        for i, messages in enumerate(prefixes):
            if i:
                for _ in client.stream(SLOT_PUSH, 1):
                    pass
            restored = self._prime_one(client, messages) and restored
        return restored

    def _prime_one(self, client: OpenAIChat, messages: Sequence[Message]) -> bool:
        from app.llm import prefix_cache

        base = self._server.listening_address
        file = None
        if self.prompt_cache_dir is not None:
            file = prefix_cache.slot_file(self.prompt_cache_dir, self.model_path,
                                          self.context_tokens, messages)
            if prefix_cache.restore(base, file):
                return True
        for _ in client.stream(messages, 1):
            pass
        if file is not None:
            prefix_cache.save(base, file)
        return False

    def stream(self, messages: Sequence[Message], max_tokens: int) -> Iterator[str]:
        return self._load().stream(messages, max_tokens)

    def first_token_probabilities(self, messages: Sequence[Message]) -> dict[str, float] | None:
        return self._load().first_token_probabilities(messages)


# A prompt that shares nothing with the prefixes: sent between two of them, so llama.cpp
# moves the slot's state (the prefix just read or restored) into its prompt cache in RAM.
SLOT_PUSH: list[Message] = [{"role": "user", "content": "."}]


def make_generator(settings: Settings) -> Generator | None:
    """The generator the settings ask for; None when none is set and the packaged default
    model (or xllamacpp) is not installed."""
    import importlib.util

    from app.llm import model_file

    if settings.llm_base_url:
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return OpenAIChat(settings.llm_base_url, settings.llm_model, key)
    if settings.llm_model_path is not None:
        return LocalLlama(settings.llm_model_path, settings.llm_context, settings.llm_threads,
                          settings.model_cache_dir / PROMPT_CACHE)
    if importlib.util.find_spec("xllamacpp") is None or not model_file.available():
        return None
    path = model_file.default_model_path(settings.model_cache_dir)
    return LocalLlama(path, settings.llm_context, settings.llm_threads,
                      settings.model_cache_dir / PROMPT_CACHE)
