"""Test-only entry point for tests that need a separate process (kill, Ctrl-C, a second
writer): the real `citewise` CLI, with the fake embedder instead of the packaged model.

    python -m tests.child cli ingest --json        the CLI, fake embedder
    python -m tests.child check QUESTIONS.json     ingest, then print the index's health as
                                                   JSON (QUESTIONS: {doc_id: question})
    python -m tests.child hold-lock                take the writer lock, print the pid, wait

Settings come from the environment (CITEWISE_SOURCES_DIR, CITEWISE_INDEX_DIR), as for the
real CLI. With `KILL_AT=STEP:N:WHEN` in the environment the process SIGKILLs itself at the
Nth call of STEP, before or after the real call (WHEN: `before` or `after`); see `STEPS`.
With `READ_WITH=module:function` the file reader child runs that instead of
`ingest.worker.load_job` (say, `tests.test_hostile_input:hostile_job`).
Nothing here ships: `tests/` is not part of the package.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _steps() -> dict[str, tuple[Any, str]]:
    """Step name -> (owner, attribute) of the call to count."""
    from chromadb.api.models.Collection import Collection

    from index import manifest
    from index.lexical import BM25Index
    from index.lock import IndexLock
    from tests.fakes import HashingEmbedder

    return {
        "embed": (HashingEmbedder, "embed_documents"),
        "upsert": (Collection, "upsert"),  # sentence and chunk batches
        "delete": (Collection, "delete"),
        "put_doc": (manifest.Manifest, "put_doc"),
        "commit": (manifest._Tx, "__exit__"),  # before: inside the open transaction
        "remove_doc": (manifest.Manifest, "remove_doc"),
        "bm25_save": (BM25Index, "save"),
        "rename": (Path, "rename"),  # between the two renames of the BM25 folder swap
        "lock": (IndexLock, "acquire"),
    }


STEPS = ("embed", "upsert", "delete", "put_doc", "commit", "remove_doc", "bm25_save",
         "rename", "lock")


def install_kill_hook(spec: str) -> None:
    step, nth, when = spec.split(":")
    owner, name = _steps()[step]
    real: Callable[..., Any] = getattr(owner, name)
    calls = 0

    def hooked(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == int(nth) and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = real(*args, **kwargs)
        if calls == int(nth) and when == "after":
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(owner, name, hooked)


def index_health(service: Any, questions: dict[str, str]) -> dict[str, Any]:
    """What a healthy index must satisfy, as plain values for the test to assert on."""
    from index.lexical import BM25Index

    index = service.index
    manifest_ids = [c.id for c in index.manifest.all_chunks()]
    lexical = BM25Index.stored_ids(index.dir) or []
    answered = {}
    for doc_id, question in questions.items():
        answer = service.ask(question, doc_ids=[doc_id])
        answered[doc_id] = (not answer.abstained
                            and any(c.doc_id == doc_id for c in answer.citations))
    return {
        "docs": sorted(index.manifest.docs()),
        "manifest_chunks": len(manifest_ids),
        "manifest_unique": len(set(manifest_ids)),
        "chroma_chunks": index.vectors.count(),
        "chroma_equals_manifest": index.vectors.chunk_ids() == set(manifest_ids),
        "sentences_equal_manifest": index.vectors.sentence_chunk_ids() == set(manifest_ids),
        "lexical_chunks": len(lexical),
        "lexical_equals_manifest": sorted(lexical) == sorted(manifest_ids),
        "answered": answered,
    }


def _service() -> Any:
    import app.service
    from app.config import Settings
    from tests.fakes import HashingEmbedder

    return app.service.Citewise(Settings(), HashingEmbedder())


def main(argv: list[str]) -> int:
    if os.environ.get("KILL_AT"):
        install_kill_hook(os.environ["KILL_AT"])
    if os.environ.get("READ_WITH"):
        from ingest import worker

        worker.TARGET = os.environ["READ_WITH"]
    command, args = argv[0], argv[1:]
    if command == "cli":
        import app.service
        from app.cli import cli
        from tests.fakes import HashingEmbedder

        app.service.default_embedder = lambda settings: HashingEmbedder()
        return cli.main(args, prog_name="citewise", standalone_mode=True)
    if command == "check":
        service = _service()
        summary = service.ingest()
        health = index_health(service, json.loads(Path(args[0]).read_text()))
        print(json.dumps({"summary": summary.to_json(), **health}))
        return 0
    if command == "hold-lock":
        from app.config import Settings
        from index.lock import IndexLock

        with IndexLock(Settings().index_dir):
            print(os.getpid(), flush=True)
            signal.pause()  # until killed
        return 0
    raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
