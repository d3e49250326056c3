"""Sync the index to the source files: add new documents, update changed ones, remove gone ones.

A document is re-chunked and re-embedded only when its cleaned text changed; unchanged
documents cost no embedding. For a changed document the new chunks are written to Chroma
first, then the manifest is switched in one transaction, then the old chunks are deleted,
so a crash in between leaves orphan vectors that the next run removes, never a gap. Every
run also checks that Chroma holds exactly the manifest's chunk ids and repairs drift.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from index.store import Index
from ingest.chunking import chunk_document, chunk_sentences
from ingest.clean import clean, content_hash, repeated_lines
from ingest.errors import LoadError, SourcesError
from ingest.loaders import Block, is_supported, load
from ingest.types import Chunk, Sentence, SourceDoc

log = logging.getLogger(__name__)


@dataclass
class IngestSummary:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    chunks_embedded: int = 0
    chunks_total: int = 0

    def to_json(self) -> dict:
        return {
            "added": len(self.added), "updated": len(self.updated),
            "removed": len(self.removed), "unchanged": len(self.unchanged),
            "failed": [{"path": p, "reason": r} for p, r in self.failed],
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "chunks_embedded": self.chunks_embedded, "chunks_total": self.chunks_total,
        }


def discover(sources_dir: Path, paths: list[Path] | None,
             summary: IngestSummary) -> list[Path]:
    """Supported files under `paths` (or the sources folder); the rest go to `skipped`."""
    roots = paths or [sources_dir]
    if not paths and not sources_dir.is_dir():
        raise SourcesError(
            f"Sources folder {sources_dir} does not exist: create it and put documents in it, "
            "or set CITEWISE_SOURCES_DIR.")
    found: list[Path] = []
    for root in roots:
        if not root.exists():
            summary.failed.append((str(root), "no such file or folder"))
            continue
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        base = root if root.is_dir() else root.parent
        for path in files:
            rel = path.relative_to(base)
            if any(part.startswith(".") for part in rel.parts):
                summary.skipped.append((str(path), "hidden file"))
            elif path.is_symlink() and not _inside(path.resolve(), base.resolve()):
                summary.skipped.append((str(path), "symlink pointing outside the folder"))
            elif not is_supported(path):
                summary.skipped.append(
                    (str(path), f"unsupported file type {path.suffix or '(none)'!r}; "
                                "supported: .txt .md .html .htm .pdf"))
            else:
                found.append(path)
    if not paths and not found and not summary.failed:
        raise SourcesError(
            f"Sources folder {sources_dir} holds no .txt, .md, .html or .pdf files: add some "
            "and run `citewise ingest` again.")
    return found


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def doc_id_for(path: Path, sources_dir: Path) -> str:
    resolved = path.resolve() if not path.is_symlink() else path.absolute()
    try:
        return resolved.relative_to(sources_dir.resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def sync(index: Index, sources_dir: Path, paths: list[Path] | None = None,
         progress: bool = False) -> IngestSummary:
    """Bring the index in line with the files; see the module docstring."""
    summary = IngestSummary()
    files = discover(sources_dir, paths, summary)
    manifest = index.manifest
    known = manifest.docs()

    loaded: dict[str, tuple[Path, bytes, list[Block]]] = {}
    failed_ids: set[str] = set()  # a file that fails now keeps what was indexed before
    for path in _bar(files, progress, "reading"):
        doc_id = doc_id_for(path, sources_dir)
        try:
            data = path.read_bytes()
            loaded[doc_id] = (path, data, load(path))
        except (LoadError, OSError) as exc:
            reason = str(exc) if isinstance(exc, LoadError) else f"cannot read file: {exc}"
            summary.failed.append((str(path), reason))
            failed_ids.add(doc_id)

    repeated = repeated_lines(blocks for _, _, blocks in loaded.values())
    docs: list[tuple[SourceDoc, str]] = []
    for doc_id, (path, data, blocks) in loaded.items():
        doc = clean(doc_id, str(path), blocks, raw_hash=content_hash(data), repeated=repeated)
        if not doc.text.strip():
            summary.failed.append((str(path), "no text left after removing boilerplate"))
            failed_ids.add(doc_id)
            continue
        docs.append((doc, hashlib.sha256(doc.text.encode()).hexdigest()))

    stored_ids = index.vectors.chunk_ids()
    wanted_ids: set[str] = set()
    for doc_id in known:
        wanted_ids.update(manifest.chunk_ids(doc_id))
    orphans = (stored_ids | index.vectors.sentence_chunk_ids()) - wanted_ids
    if orphans:
        log.info("removing %d orphan chunks left by an interrupted run", len(orphans))
        index.vectors.delete(sorted(orphans))
        stored_ids -= orphans

    # Which documents need (re)embedding.
    todo: list[tuple[SourceDoc, str, list[Chunk], list[Sentence]]] = []
    for doc, clean_hash in docs:
        record = known.get(doc.doc_id)
        complete = record is not None and set(manifest.chunk_ids(doc.doc_id)) <= stored_ids
        if record is not None and record.clean_hash == clean_hash and complete:
            summary.unchanged.append(doc.doc_id)
            continue
        chunks = chunk_document(doc, index.embedder.count_tokens, index.chunker)
        todo.append((doc, clean_hash, chunks, chunk_sentences(chunks)))
        (summary.updated if record is not None else summary.added).append(doc.doc_id)

    # Chunks already stored (same id = same document, place and text) are not re-embedded.
    new_chunks = [c for _, _, chunks, _ in todo for c in chunks if c.id not in stored_ids]
    new_ids = {c.id for c in new_chunks}
    new_sentences = [s for *_, sentences in todo for s in sentences if s.chunk_id in new_ids]
    vectors = _embed(index, [c.embed_text() for c in new_chunks]
                     + [s.embed_text for s in new_sentences], progress)
    summary.chunks_embedded = len(new_chunks)
    row = {c.id: i for i, c in enumerate(new_chunks)}
    sentence_row = {s.id: len(new_chunks) + i for i, s in enumerate(new_sentences)}

    for doc, clean_hash, chunks, sentences in todo:
        new = [c for c in chunks if c.id in new_ids]
        if new:
            sents = [s for s in sentences if s.chunk_id in new_ids]
            index.vectors.add([c.id for c in new], vectors[[row[c.id] for c in new]],
                              [c.doc_id for c in new], sents,
                              vectors[[sentence_row[s.id] for s in sents]])
        old = set(manifest.chunk_ids(doc.doc_id))
        manifest.put_doc(doc, clean_hash, chunks)
        stale = old - {c.id for c in chunks}
        if stale:
            index.vectors.delete(sorted(stale))

    # Documents whose file is gone (only those this run was asked to look after).
    seen = set(loaded) | failed_ids
    for doc_id, record in known.items():
        if doc_id in seen or not _in_scope(Path(record.path), sources_dir, paths):
            continue
        if not os.path.exists(record.path):
            index.vectors.delete(manifest.chunk_ids(doc_id))
            manifest.remove_doc(doc_id)
            summary.removed.append(doc_id)

    changed = bool(todo or summary.removed or orphans)
    if changed or len(index.lexical.ids) != manifest.count_chunks():
        index.rebuild_lexical()
    summary.chunks_total = manifest.count_chunks()
    return summary


def _in_scope(path: Path, sources_dir: Path, paths: list[Path] | None) -> bool:
    roots = paths or [sources_dir]
    p = path.absolute()
    return any(p == r.absolute() or r.absolute() in p.parents for r in roots)


def _embed(index: Index, texts: list[str], progress: bool):
    import numpy as np

    if not texts:
        return np.zeros((0, index.embedder.dim), dtype=np.float32)
    if not progress:
        return index.embedder.embed_documents(texts)
    from tqdm import tqdm

    with tqdm(total=len(texts), desc="embedding chunks and sentences", unit="text") as bar:
        return index.embedder.embed_documents(texts, progress=bar.update)


def _bar(items: list[Path], progress: bool, desc: str):
    if not progress or len(items) < 2:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit="file")
