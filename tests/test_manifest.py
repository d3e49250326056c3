"""The manifest records, per document, what it was ingested from and with."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from app.service import Citewise
from index.manifest import Manifest

OLD_DOCS = """CREATE TABLE docs (
    doc_id TEXT PRIMARY KEY, path TEXT NOT NULL, raw_hash TEXT NOT NULL,
    clean_hash TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL,
    ingested_at REAL NOT NULL)"""


def test_each_document_records_path_hashes_chunks_model_chunker_and_time(
        service: Citewise, sources: Path) -> None:
    started = time.time()
    service.ingest()
    manifest = service.index.manifest
    fingerprint = service.settings.chunker(service.embedder.max_tokens).fingerprint()
    for doc_id, record in manifest.docs().items():
        assert Path(record.path) == sources / doc_id
        assert len(record.raw_hash) == len(record.clean_hash) == 64
        assert record.embedding_model == "fake-hashing" and record.chunker == fingerprint
        assert started <= record.ingested_at <= time.time()
        assert len(manifest.chunk_ids(doc_id)) == record.n_chunks > 0


def test_a_manifest_from_before_per_document_settings_is_upgraded(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / Manifest.FILENAME)
    db.executescript(OLD_DOCS + ";\nCREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);")
    db.execute("INSERT INTO docs VALUES ('a.txt', '/x/a.txt', 'r', 'c', 'A', 'text', 1.0)")
    db.executemany("INSERT INTO meta VALUES (?, ?)", [("embedding_model", "m"),
                                                      ("chunker", "sentence-v1:1:2:3")])
    db.commit()
    db.close()
    manifest = Manifest(tmp_path)
    manifest.check_settings("m", "sentence-v1:1:2:3")
    record = manifest.docs()["a.txt"]
    assert (record.embedding_model, record.chunker) == ("m", "sentence-v1:1:2:3")
