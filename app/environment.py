"""The quiet, offline process environment, set once by each entry point (the CLI's `main`,
the test suite, the benchmarks) before any library that reads it is imported.

No telemetry or analytics (Chroma, Hugging Face, Gradio), no tokenizer thread pools that
fight the encoder for two cores, no progress bars from the hub, no Gradio Node server.
Values already set in the environment win.
"""

from __future__ import annotations

import os

QUIET_ENV = {
    "ANONYMIZED_TELEMETRY": "False",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "GRADIO_SSR_MODE": "False",
}


def quiet_environment(extra: dict[str, str] | None = None) -> None:
    """Set `QUIET_ENV` (and `extra`) where the environment does not already say otherwise."""
    for key, value in {**QUIET_ENV, **(extra or {})}.items():
        os.environ.setdefault(key, value)
