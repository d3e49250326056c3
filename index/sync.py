"""Sync the index to the source files: add new documents, update changed ones, remove gone ones.

A document is re-chunked only when its cleaned text changed or it was chunked with other
chunker settings than the index's (`Manifest.check_settings`); unchanged documents cost no
embedding. A chunk or sentence is embedded only when no vector of the same text is stored
yet: a renamed or moved file, a second copy of a file, or a passage that only moved within
its document get their vectors copied (`chunks_reused`), not embedded again.

Order of writes, so that a crash (even SIGKILL) at any point leaves an index the next run
repairs, never one with a gap:
1. the new chunks' vectors, sentences before chunks, in rounds of `STORE_BATCH` chunks
   (a large document takes several rounds, small ones share one);
2. the manifest switches to the new version of each document, one transaction each;
3. the old chunks' vectors are deleted. A removed document leaves the manifest first and
   the vector store second;
4. vectors the manifest does not know (orphans of an interrupted run, which the manifest's
   `sync_state` tells) are deleted, last, so that a rerun can first reuse them;
5. the BM25 index is rebuilt from the manifest whenever its ids differ from the manifest's.

Callers hold the index's writer lock (`index.lock.IndexLock`) around a sync.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from index import unchanged
from index.chunk_ahead import ahead
from index.lexical import BM25Index
from index.sentence_vectors import SentenceVectors, embed_new
from index.store import Index, clear_build_progress, write_build_progress
from index.vectors import StoredChunk, text_hash
from ingest.chunking import chunk_document, chunk_sentences
from ingest.clean import clean, content_hash, repeated_lines
from ingest.discover import discover, doc_id_for, in_scope
from ingest.errors import LoadError, disk_full_guard
from ingest.loaders import Block, read_bytes
from ingest.progress import bar
from ingest.types import Chunk, Sentence, SourceDoc
from ingest.worker import DEFAULT_SECONDS, Worker

log = logging.getLogger(__name__)

STORE_BATCH = 256  # chunks embedded and written per round: bounds memory on a huge file
SYNC_STATE = "sync_state"  # manifest meta key: "running" during a sync, "done" after it
OCR_CACHE = "ocr"  # folder of the index where pages read by OCR are kept (ingest.ocr)


@dataclass
class IngestSummary:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    chunks_embedded: int = 0  # chunk texts sent to the embedder
    chunks_reused: int = 0  # chunks whose vector was copied from one already stored
    chunks_total: int = 0
    sentences_pooled: int = 0  # sentence vectors pooled from their chunk's encoder pass
    sentences_alone: int = 0  # sentence vectors encoded on their own (the fallback)
    removed_docs: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    kept_outside: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    # (path, what was lost): a file ingested without part of it, e.g. a PDF page that
    # could not be read
    warnings: list[tuple[str, str]] = field(default_factory=list)
    pdf_pages: int = 0  # pages of the PDFs read by this sync
    pages_ocr: int = 0  # of them, read by OCR

    def to_json(self) -> dict:
        return {
            "added": len(self.added), "updated": len(self.updated),
            "removed": len(self.removed), "unchanged": len(self.unchanged),
            "failed": [{"path": p, "reason": r} for p, r in self.failed],
            "skipped": [{"path": p, "reason": r} for p, r in self.skipped],
            "removed_docs": [{"path": p, "reason": r} for p, r in self.removed_docs],
            "kept_outside": [{"path": p, "reason": r} for p, r in self.kept_outside],
            "warnings": [{"path": p, "reason": r} for p, r in self.warnings],
            "pages": {"read": self.pdf_pages, "ocr": self.pages_ocr},
            "chunks_embedded": self.chunks_embedded, "chunks_total": self.chunks_total,
            "sentences_pooled": self.sentences_pooled,
            "sentences_alone": self.sentences_alone,
        }


def sync(index: Index, sources_dir: Path, paths: list[Path] | None = None,
         progress: bool = False, max_doc_chars: int | None = None,
         max_doc_seconds: float | None = DEFAULT_SECONDS, ocr: bool = True,
         sentence_vectors: SentenceVectors = "separate") -> IngestSummary:
    """Bring the index in line with the files; see the module docstring. `ocr`: read PDF
    pages that have no text layer by OCR (`ingest.ocr`; off: a PDF with no text fails).
    `sentence_vectors`: how sentence vectors are made (`index.sentence_vectors`).
    A full disk (vectors, manifest or BM25) is `DiskFullError`: the order of writes above
    leaves an index the next sync completes, so nothing indexed before is lost."""
    shared = index.shared
    where = f"{index.dir} (or the Chroma server's)" if shared else index.dir
    with disk_full_guard(where):
        try:
            return _sync(index, sources_dir, paths, progress, max_doc_chars, max_doc_seconds,
                         ocr, sentence_vectors)
        finally:
            clear_build_progress(index.dir)


def _sync(index: Index, sources_dir: Path, paths: list[Path] | None, progress: bool,
          max_doc_chars: int | None, max_doc_seconds: float | None,
          ocr: bool = True, sentence_vectors: SentenceVectors = "separate") -> IngestSummary:
    summary = IngestSummary()
    found = discover(sources_dir, paths)
    summary.skipped.extend(found.skipped)
    summary.failed.extend(found.failed)
    files = found.found
    manifest = index.manifest
    known = manifest.docs()
    # The first build (or one after --rebuild): a question asked meanwhile is told how far
    # it got (`Index.open_existing`, `Citewise.stream`). An update is not: every document
    # indexed before stays answerable until its new version switches in.
    building = not known
    key = unchanged.sync_key(index.chunker.fingerprint(), ocr, max_doc_chars,
                             max_doc_seconds)
    if (paths is None and known and not found.failed
            and _nothing_to_read(index, files, sources_dir, known, key, max_doc_chars,
                                 summary)):
        return summary
    if building:
        write_build_progress(index.dir, 0, len(files))
    docs, failed_ids = _read(files, sources_dir, summary, progress, max_doc_chars,
                             max_doc_seconds, ocr, index.dir / OCR_CACHE)
    # "running" until this sync ends: whoever finds it so knows the last one was cut short.
    interrupted = manifest.get_meta(SYNC_STATE) != "done"
    manifest.set_meta(SYNC_STATE, "running")

    # Which documents need (re)chunking: new, changed, made with other chunker settings, or
    # with vectors missing.
    stored_ids = index.vectors.chunk_ids()
    fingerprint = index.chunker.fingerprint()
    todo: list[tuple[SourceDoc, str]] = []
    for doc, clean_hash in docs:
        record = known.get(doc.doc_id)
        complete = record is not None and set(manifest.chunk_ids(doc.doc_id)) <= stored_ids
        if (record is not None and record.clean_hash == clean_hash and complete
                and record.chunker == fingerprint
                and not (doc.pages and manifest.lacks_pages(doc.doc_id))):
            summary.unchanged.append(doc.doc_id)
            continue
        todo.append((doc, clean_hash))

    # Documents are chunked in a thread ahead of the embedder (`index.chunk_ahead`); small
    # ones go in groups of about STORE_BATCH chunks, so the embedder gets full batches;
    # each document switches in the manifest once all its vectors are stored. The bar's
    # total grows as documents are chunked (about five times faster than they embed).
    index.embedder.count_tokens("")  # its tokenizer is made here, not in both threads
    with _chunk_bar(len(todo), progress) as bar:
        def chunk(item: tuple[SourceDoc, str]) -> list[Chunk]:
            chunks = chunk_document(item[0], index.embedder.count_tokens, index.chunker)
            bar.total = (bar.total or 0) + len(chunks)
            return chunks

        group: list[tuple[SourceDoc, str, list[Chunk]]] = []
        for i, done in enumerate(ahead(todo, chunk)):
            (doc, clean_hash), chunks = done.item, done.result
            group.append((doc, clean_hash, chunks))
            if i + 1 < len(todo) and sum(len(c) for *_, c in group) < STORE_BATCH:
                continue
            _store(index, [c for *_, chunks in group for c in chunks], summary, bar,
                   sentence_vectors)
            for doc, clean_hash, chunks in group:
                old = set(manifest.chunk_ids(doc.doc_id))
                manifest.put_doc(doc, clean_hash, chunks)  # the switch to the new version
                stale = old - {c.id for c in chunks}
                if stale:
                    index.vectors.delete(sorted(stale))
                (summary.updated if doc.doc_id in known else summary.added).append(doc.doc_id)
            if building:
                write_build_progress(index.dir, len(summary.added), len(files))
            group = []

    # Documents this run did not read and does not keep (`_fate`): out of the manifest
    # first, so a crash in between leaves orphan vectors, never a gap.
    seen = {doc.doc_id for doc, _ in docs} | failed_ids
    for doc_id, record in known.items():
        fate = None if doc_id in seen else _fate(doc_id, record.path, sources_dir, paths)
        if fate is None:
            continue
        remove, reason = fate
        if not remove:
            summary.kept_outside.append((record.path, reason))
            continue
        ids = manifest.chunk_ids(doc_id)
        manifest.remove_doc(doc_id)
        index.vectors.delete(ids)
        summary.removed.append(doc_id)
        summary.removed_docs.append((record.path, reason))

    # Vectors the manifest does not know: left by an interrupted run (or by the deletes just
    # above). They are removed last so that a run resuming after a crash could reuse them.
    # Reading every sentence's metadata is the slowest part of a sync that changes nothing,
    # so that is skipped when the last sync ended and this one wrote nothing.
    wanted = manifest.all_chunk_ids()
    if interrupted or todo or summary.removed:
        if todo or summary.removed:
            stored_ids = index.vectors.chunk_ids()
        orphans = (stored_ids | index.vectors.sentence_chunk_ids()) - wanted
        if orphans:
            log.info("removing %d orphan chunks left by an interrupted run", len(orphans))
            index.vectors.delete(sorted(orphans))

    lexical = BM25Index.stored_ids(index.dir)
    if (todo or summary.removed or lexical is None or len(lexical) != len(wanted)
            or set(lexical) != wanted):
        index.rebuild_lexical()
    if summary.failed or summary.warnings:
        unchanged.forget(index)  # the next sync reads every file again
    elif paths is None:
        unchanged.record(index, key)  # the next may skip reading (`index.unchanged`)
    manifest.set_meta(SYNC_STATE, "done")
    summary.chunks_total = len(wanted)
    return summary


def _nothing_to_read(index: Index, files: list[Path], sources_dir: Path,
                     known: dict, key: str, max_doc_chars: int | None,
                     summary: IngestSummary) -> bool:
    """True (and `summary` filled in) when no file needs reading: each one's raw bytes
    are those of the manifest and nothing else changed since the last sync
    (`index.unchanged`). Only the raw files are hashed: no reader child, no chromadb."""
    manifest = index.manifest
    if manifest.get_meta(SYNC_STATE) != "done" or not unchanged.last_sync_matches(index, key):
        return False
    found: dict[str, tuple[str, str]] = {}
    for path in files:
        try:
            raw_hash, _ = _load_one(path, max_doc_chars)
        except LoadError:
            return False  # the full sync reports it
        found[doc_id_for(path, sources_dir)] = (str(path), raw_hash)
    if not unchanged.same_documents(index, found, known, index.chunker.fingerprint()):
        return False
    summary.unchanged.extend(found)
    wanted = manifest.all_chunk_ids()
    lexical = BM25Index.stored_ids(index.dir)
    if lexical is None or len(lexical) != len(wanted) or set(lexical) != wanted:
        index.rebuild_lexical()
    summary.chunks_total = len(wanted)
    return True


def _read(files: list[Path], sources_dir: Path, summary: IngestSummary, progress: bool,
          max_doc_chars: int | None, max_doc_seconds: float | None, ocr: bool = True,
          ocr_cache: Path | None = None) -> tuple[list[tuple[SourceDoc, str]], set[str]]:
    """Load and clean every file: (document, cleaned-text hash) pairs, and the ids of the
    files that failed (they keep what was indexed before). Files are read here and loaded
    in a child process, `max_doc_seconds` each at most (ingest/worker.py)."""
    loaded: dict[str, tuple[Path, str, list[Block], tuple[int, ...]]] = {}
    failed_ids: set[str] = set()

    def fail(path: Path, doc_id: str, reason: str) -> None:
        summary.failed.append((str(path), reason))
        failed_ids.add(doc_id)

    def jobs():
        for path in _bar(files, progress, "reading"):
            doc_id = doc_id_for(path, sources_dir)
            try:
                raw_hash, data = _load_one(path, max_doc_chars)
            except LoadError as exc:
                fail(path, doc_id, str(exc))
                continue
            yield (path, doc_id, raw_hash), (path.name, data, max_doc_chars, ocr,
                                             str(ocr_cache) if ocr_cache else None)

    with Worker(max_doc_seconds) as worker:
        for (path, doc_id, raw_hash), out in worker.run(jobs()):
            if isinstance(out, LoadError):
                fail(path, doc_id, str(out))
            elif out[1] is None:
                fail(path, doc_id, _too_large(out[0], max_doc_chars or 0, "text"))
            else:
                loaded[doc_id] = (path, raw_hash, [Block(*b) for b in out[1]],
                                  tuple(out[2]["ocr_pages"]))
                summary.pdf_pages += out[2]["pages"]
                summary.pages_ocr += len(out[2]["ocr_pages"])
                summary.warnings.extend((str(path), p) for p in out[2]["problems"])

    repeated = repeated_lines(blocks for _, _, blocks, _ in loaded.values())
    docs: list[tuple[SourceDoc, str]] = []
    for doc_id, (path, raw_hash, blocks, ocr_pages) in loaded.items():
        doc = clean(doc_id, str(path), blocks, raw_hash=raw_hash, repeated=repeated)
        if ocr_pages:
            doc = replace(doc, ocr_pages=ocr_pages)
        if not doc.text.strip():
            summary.failed.append((str(path), "no text left after removing boilerplate"))
            failed_ids.add(doc_id)
            continue
        docs.append((doc, hashlib.sha256(doc.text.encode()).hexdigest()))
    return docs, failed_ids


def _load_one(path: Path, max_doc_chars: int | None) -> tuple[str, bytes]:
    """(raw content hash, content) of one file, or `LoadError` with the reason. Its text
    is measured against `max_doc_chars` once loaded (`ingest.worker.load_job`)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise LoadError(f"cannot read file: {exc.strerror or exc}") from exc
    if max_doc_chars is not None and size > 4 * max_doc_chars:  # not even worth reading
        raise LoadError(_too_large(size, max_doc_chars, "file"))
    data = read_bytes(path)
    return content_hash(data), data


def _too_large(size: int, limit: int, what: str) -> str:
    return (f"too large: {size / 1e6:.1f} MB of {what}, over the limit of {limit / 1e6:g} MB "
            "of text per document: split the file, or raise CITEWISE_MAX_DOC_MB")


def _store(index: Index, chunks: list[Chunk], summary: IngestSummary, bar,
           sentence_vectors: SentenceVectors = "separate") -> None:
    """Write the vectors of `chunks` and their sentences, `STORE_BATCH` chunks at a time.

    A vector is copied when the store already holds one for the same text (found by its
    hash: a renamed or duplicated file, a passage that moved), and made otherwise
    (`index.sentence_vectors`: by default a sentence's vector is pooled from its chunk's
    pass); a chunk already stored under its own id with the same text is left as it is.
    Sentences of a batch are written before its chunks, so a chunk is never found
    without them.
    """
    import numpy as np

    for i in range(0, len(chunks), STORE_BATCH):
        part = chunks[i:i + STORE_BATCH]
        hashes = [text_hash(c.embed_text()) for c in part]
        found = index.vectors.find_chunks(hashes)
        keep = [j for j, c in enumerate(part) if c.id not in _ids(found.get(hashes[j]))]
        part, hashes = [part[j] for j in keep], [hashes[j] for j in keep]
        sentences = chunk_sentences(part)
        sentence_hashes = [text_hash(s.embed_text) for s in sentences]
        found_sentences = index.vectors.find_sentences(sentence_hashes)

        new_chunks: dict[str, Chunk] = {}  # hash -> chunk, for what no stored vector covers
        for c, h in zip(part, hashes, strict=True):
            if h not in found:
                new_chunks.setdefault(h, c)
        new_sentences: dict[str, Sentence] = {}
        for sentence, h in zip(sentences, sentence_hashes, strict=True):
            if h not in found_sentences:
                new_sentences.setdefault(h, sentence)
        new = embed_new(index.embedder, new_chunks, new_sentences, sentence_vectors)

        if part:
            chunk_vectors = np.stack([found[h].vector if h in found else new.chunks[h]
                                      for h in hashes])
            sentence_vectors_ = (
                np.stack([found_sentences[h] if h in found_sentences else new.sentences[h]
                          for h in sentence_hashes])
                if sentences else np.zeros((0, index.embedder.dim), dtype=np.float32))
            index.vectors.add(part, chunk_vectors, sentences, sentence_vectors_)
        summary.chunks_embedded += len(new_chunks)
        summary.chunks_reused += len(part) - len(new_chunks)
        summary.sentences_pooled += new.pooled
        summary.sentences_alone += new.alone
        bar.update(len(chunks[i:i + STORE_BATCH]))


def _ids(stored: StoredChunk | None) -> frozenset[str]:
    return stored.ids if stored is not None else frozenset()


def _fate(doc_id: str, path: str, sources_dir: Path,
          paths: list[Path] | None) -> tuple[bool, str] | None:
    """What a sync does with a document in the index that it did not read: None (leave
    it alone), or (remove it?, why). A sync of PATHs looks after the documents under them
    only: those whose file is gone are removed. A full sync brings the whole index in line
    with what exists:
    - a document whose file is gone is removed, wherever the file was;
    - one from an earlier sources folder (its id is relative to the folder it came from)
      whose file lies outside the current one is removed: the index follows the folder;
    - one ingested by PATH from outside the sources folder (its id is its absolute path)
      is kept while its file exists, since the user asked for it by name, and listed.
    """
    if paths and not in_scope(Path(path), sources_dir, paths):
        return None
    if not os.path.exists(path):
        return True, "its file no longer exists"
    if paths or in_scope(Path(path), sources_dir, None):
        return None
    if Path(doc_id).is_absolute():
        return False, (f"ingested by path from outside the sources folder {sources_dir}: "
                       "kept while the file exists (`citewise ingest --rebuild` drops it)")
    return True, (f"outside the sources folder {sources_dir}: it came from an earlier "
                  "sources folder (CITEWISE_SOURCES_DIR)")


def _bar(items: list[Path], progress: bool, desc: str):
    return bar(items, enabled=progress and len(items) > 1, desc=desc, unit="file")


def _chunk_bar(documents: int, progress: bool):
    return bar(enabled=progress and documents > 0, desc="embedding and storing chunks",
               unit="chunk", total=0)
