"""Warming up `citewise serve`: the embedder, the index and the language model loaded
before the first question. No gradio here, so `serve` can warm up in a thread while the UI
is still being imported and built."""

from __future__ import annotations

import logging
from collections.abc import Callable

from app.service import Citewise
from ingest.errors import CitewiseError

log = logging.getLogger(__name__)


def warm_up(service: Citewise, model: bool = True) -> None:
    """Load the models and open the index now, not on the first question: the embedding
    model, the BM25 index, and (`model`) the local language model when answers are
    generative by default."""
    service.embedder.embed_query("warm up")
    try:
        service.load_index()
    except CitewiseError as exc:
        log.warning("%s Upload documents in the Documents tab, or run `citewise ingest`.", exc)
    if model:
        warm_up_model(service)


def warm_up_in_thread(service: Citewise) -> Callable[[], None]:
    """Start `warm_up(service, model=False)` in a thread (for `citewise serve`, while the UI
    is imported and built) and return the function that waits for it and raises what it
    raised, so an error there still stops `serve` with its one line."""
    import threading

    failed: list[BaseException] = []

    def warm() -> None:
        try:
            warm_up(service, model=False)
        except BaseException as exc:  # noqa: BLE001  raised again by `wait`
            failed.append(exc)

    thread = threading.Thread(target=warm, daemon=True, name="warm-up")
    thread.start()

    def wait() -> None:
        thread.join()
        if failed:
            raise failed[0]

    return wait


def warm_up_model(service: Citewise) -> None:
    """Load the local language model and have it read the fixed part of the answer prompt
    (rules and worked example), which llama.cpp then keeps in its prompt cache: the first
    question pays only for its own evidence. `citewise serve` runs this in a thread once the
    page is served; a question asked meanwhile waits for the model."""
    try:
        if service.mode() != "generative":
            return
        if service.prime_generator():  # loaded; the prefix from its disk cache if saved
            return
        generator = service.generator
        load = getattr(generator, "load", None)
        if generator is not None and callable(load):
            load()
            from app.answer.prompt import answer_messages

            for _ in generator.stream(answer_messages("Warm up.", ["Warm up."]), 1):
                pass
    except CitewiseError as exc:  # the page says it again when a question is asked
        log.warning("%s Generative answers will fail until this is fixed; extractive "
                    "answers work.", exc)
