"""Whether a sync may skip reading the files: nothing changed since the last one.

Reading and cleaning every file (in the reader child) is most of what a sync of an
unchanged folder costs, and the cleaned text of one file depends on every other file too
(the cross-document repeated-line set, `ingest.clean.repeated_lines`). So the files are
read again unless all of these hold, and then none is read and chromadb is not imported:
- the last sync of the whole folder ended ("done"), read every file without a failure or
  a warning, and recorded `LAST_SYNC`;
- what shapes the cleaned text and the chunks is as it was then (`sync_key`: the chunker
  fingerprint, OCR on/off, the size and time limits, the reading code in `ingest/` and
  the pinned library versions);
- the files found are the documents of the manifest, each at the same path with the same
  raw bytes (`DocRecord.raw_hash`), and none failed to be found or read;
- no PDF in the manifest lacks its pages (`Manifest.lacks_pages`);
- the vector store holds every chunk of the manifest (`Index.stored_chunk_ids`: read
  from the embedded store's SQLite file, without chromadb; a Chroma server is asked).
When one file changed, every file is read again, as before (the repeated-line set may
change with it).
"""

from __future__ import annotations

import hashlib
import json
from contextlib import suppress
from functools import lru_cache
from pathlib import Path

from index.manifest import DocRecord
from index.store import Index

LAST_SYNC = "last_sync"  # manifest meta key: {"key": sync_key}, or ""


@lru_cache(maxsize=1)
def _reader_digest() -> str:
    """A digest of the reading and cleaning code (`ingest/*.py`) and of the pinned
    dependencies: an upgrade of either makes the next sync read every file again."""
    from importlib import metadata

    import ingest

    h = hashlib.sha256()
    for path in sorted(Path(ingest.__file__).parent.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    with suppress(metadata.PackageNotFoundError):  # a source tree, not installed
        h.update("\n".join(sorted(metadata.requires("citewise") or [])).encode())
    return h.hexdigest()


def sync_key(chunker: str, ocr: bool, max_doc_chars: int | None,
             max_doc_seconds: float | None) -> str:
    """What the cleaned text and the chunks of an unchanged file depend on, besides it."""
    return json.dumps([chunker, ocr, max_doc_chars, max_doc_seconds, _reader_digest()])


def record(index: Index, key: str) -> None:
    """After a whole-folder sync that read every file cleanly: the next may skip reading."""
    index.manifest.set_meta(LAST_SYNC, json.dumps({"key": key}))


def forget(index: Index) -> None:
    """After a sync with a failure or a warning: the next one reads every file again."""
    index.manifest.set_meta(LAST_SYNC, "")


def last_sync_matches(index: Index, key: str) -> bool:
    """The last sync recorded this key, and the vector store holds every manifest chunk."""
    try:
        last = json.loads(index.manifest.get_meta(LAST_SYNC) or "null")
    except ValueError:
        return False
    if not isinstance(last, dict) or last.get("key") != key:
        return False
    return index.manifest.all_chunk_ids() <= index.stored_chunk_ids()


def same_documents(index: Index, files: dict[str, tuple[str, str]],
                   known: dict[str, DocRecord], fingerprint: str) -> bool:
    """`files`: doc id -> (path, raw hash) of every file found. True when they are exactly
    the manifest's documents, unchanged, chunked with `fingerprint`, each PDF with pages."""
    if files.keys() != known.keys():
        return False
    for doc_id, (path, raw_hash) in files.items():
        rec = known[doc_id]
        if rec.path != path or rec.raw_hash != raw_hash or rec.chunker != fingerprint:
            return False
        if path.lower().endswith(".pdf") and index.manifest.lacks_pages(doc_id):
            return False
    return True
