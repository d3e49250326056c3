"""The manifest: what was ingested, kept in SQLite beside the index.

Tables:
- `meta`: key/value pairs, among them the embedding model and chunker fingerprint the index
  was built with (another model is refused; other chunker settings are taken up by the
  next ingest, which re-chunks, see `check_settings`).
- `docs`: one row per ingested document: id (path relative to the sources folder), path,
  raw content hash, cleaned-text hash, title, cleaned text, ingest time, and the embedding
  model and chunker fingerprint it was embedded with (always the index's own: mixing is
  refused, but each row says so on its own).
- `chunks`: every chunk of every document (its id, so the document's chunk ids), with its
  exact span in the cleaned text, the glossary of abbreviations it uses, and for a PDF its
  first and last page and the page breaks inside it (NULL/'[]' for other formats and for
  chunks stored before pages were kept), the pages of it read by OCR (`ocr_pages`), and
  the id of its heading (`anchor`). This is the
  record that citations resolve against and the lexical index is rebuilt from.

Writes for one document happen in one transaction, so a crash leaves either the old or the
new state of that document. The manifest is the truth: the vector store may hold more
(orphans of an interrupted run, removed by the next sync), never less.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import IndexMismatchError
from ingest.types import Chunk, SourceDoc

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    doc_id TEXT PRIMARY KEY, path TEXT NOT NULL, raw_hash TEXT NOT NULL,
    clean_hash TEXT NOT NULL, title TEXT NOT NULL, text TEXT NOT NULL,
    ingested_at REAL NOT NULL, embedding_model TEXT NOT NULL DEFAULT '',
    chunker TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES docs(doc_id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, title TEXT NOT NULL, heading_path TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    glossary TEXT NOT NULL DEFAULT '[]', page INTEGER, page_end INTEGER,
    page_breaks TEXT NOT NULL DEFAULT '[]', anchor TEXT,
    ocr_pages TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, seq);
"""

_CHUNK_COLUMNS = ('SELECT id, doc_id, title, heading_path, start, "end", text, glossary, '
                  'page, page_end, page_breaks, anchor, ocr_pages')
# Columns added after the first release, with their definitions (old manifests get them).
_ADDED_CHUNK_COLUMNS = {"glossary": "TEXT NOT NULL DEFAULT '[]'", "page": "INTEGER",
                        "page_end": "INTEGER", "page_breaks": "TEXT NOT NULL DEFAULT '[]'",
                        "anchor": "TEXT", "ocr_pages": "TEXT NOT NULL DEFAULT '[]'"}


@dataclass(frozen=True)
class DocRecord:
    doc_id: str
    path: str
    raw_hash: str
    clean_hash: str
    title: str
    n_chunks: int
    ingested_at: float
    embedding_model: str = ""
    chunker: str = ""


class Manifest:
    """SQLite manifest of ingested documents and their chunks."""

    FILENAME = "manifest.sqlite"

    def __init__(self, index_dir: Path):
        index_dir.mkdir(parents=True, exist_ok=True)
        self.path = index_dir / self.FILENAME
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(docs)")}
        for column in ("embedding_model", "chunker"):  # manifests from before 0.2
            if column not in columns:
                self._db.execute(
                    f"ALTER TABLE docs ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(chunks)")}
        for column, definition in _ADDED_CHUNK_COLUMNS.items():  # older manifests
            if column not in columns:
                self._db.execute(f"ALTER TABLE chunks ADD COLUMN {column} {definition}")

    @staticmethod
    def exists(index_dir: Path) -> bool:
        return (index_dir / Manifest.FILENAME).exists()

    @staticmethod
    def built_with(index_dir: Path) -> str | None:
        """The embedding model the index in `index_dir` was built with (None: no index
        yet), read without opening, creating or migrating anything."""
        path = index_dir / Manifest.FILENAME
        if not path.exists():
            return None
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            try:
                row = db.execute(
                    "SELECT value FROM meta WHERE key = 'embedding_model'").fetchone()
            finally:
                db.close()
        except sqlite3.Error:
            return None  # the full open reports what is wrong with it
        return row[0] if row else None

    def close(self) -> None:
        self._db.close()

    # -- settings the index was built with -------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def check_settings(self, embedding_model: str, chunker: str, rechunk: bool = False) -> None:
        """Record the settings on first use. Another embedding model is refused (its vectors
        cannot be mixed with these). Other chunker settings are refused too, unless
        `rechunk` (an ingest): then they become the index's, and every document made with
        the old ones counts as changed (`DocRecord.chunker`), so the sync re-chunks it."""
        for key, wanted, what in (("embedding_model", embedding_model, "embedding model"),
                                  ("chunker", chunker, "chunker settings")):
            have = self.get_meta(key)
            if have is None:
                self.set_meta(key, wanted)
            elif have == wanted:
                # Rows from before per-document settings; a reader never writes.
                if self._db.execute(f"SELECT 1 FROM docs WHERE {key} = '' LIMIT 1").fetchone():
                    self._db.execute(f"UPDATE docs SET {key} = ? WHERE {key} = ''", (wanted,))
            elif key == "chunker" and rechunk:
                self.set_meta(key, wanted)
            elif key == "chunker":
                raise IndexMismatchError(
                    f"The index in {self.path.parent} was made with chunker settings "
                    f"{have!r}, not {wanted!r}: run `citewise ingest` to re-chunk it (the "
                    f"vectors of passages whose text is unchanged are reused).")
            else:
                raise IndexMismatchError(
                    f"The index in {self.path.parent} was built with {what} {have!r}, not "
                    f"{wanted!r}: run `citewise ingest --rebuild` to rebuild it, or point "
                    f"CITEWISE_INDEX_DIR at another folder."
                )

    # -- documents ---------------------------------------------------------------------------
    def docs(self) -> dict[str, DocRecord]:
        rows = self._db.execute(
            "SELECT d.doc_id, d.path, d.raw_hash, d.clean_hash, d.title, d.ingested_at, "
            "(SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.doc_id), d.embedding_model, "
            "d.chunker FROM docs d"
        ).fetchall()
        return {r[0]: DocRecord(r[0], r[1], r[2], r[3], r[4], r[6], r[5], r[7], r[8])
                for r in rows}

    def doc_text(self, doc_id: str) -> str | None:
        row = self._db.execute("SELECT text FROM docs WHERE doc_id = ?", (doc_id,)).fetchone()
        return row[0] if row else None

    def chunk_ids(self, doc_id: str) -> list[str]:
        rows = self._db.execute("SELECT id FROM chunks WHERE doc_id = ? ORDER BY seq", (doc_id,))
        return [r[0] for r in rows]

    def put_doc(self, doc: SourceDoc, clean_hash: str, chunks: list[Chunk]) -> None:
        """Replace a document and all its chunks in one transaction."""
        with self._transaction():
            self._db.execute("DELETE FROM docs WHERE doc_id = ?", (doc.doc_id,))
            self._db.execute(
                "INSERT INTO docs (doc_id, path, raw_hash, clean_hash, title, text, "
                "ingested_at, embedding_model, chunker) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (doc.doc_id, doc.path, doc.raw_hash, clean_hash, doc.title, doc.text,
                 time.time(), self.get_meta("embedding_model") or "",
                 self.get_meta("chunker") or ""),
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO chunks (id, doc_id, seq, title, heading_path, start, "
                '"end", text, glossary, page, page_end, page_breaks, anchor, ocr_pages) '
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(c.id, c.doc_id, i, c.title, json.dumps(c.heading_path), c.start, c.end, c.text,
                  json.dumps(c.glossary), c.page, c.page_end, json.dumps(c.page_breaks),
                  c.anchor, json.dumps(c.ocr_pages)) for i, c in enumerate(chunks)],
            )

    def lacks_pages(self, doc_id: str) -> bool:
        """True when a chunk of the document has no page: stored before pages were kept
        (the next sync of a PDF stores them)."""
        return self._db.execute("SELECT 1 FROM chunks WHERE doc_id = ? AND page IS NULL "
                                "LIMIT 1", (doc_id,)).fetchone() is not None

    def remove_doc(self, doc_id: str) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM docs WHERE doc_id = ?", (doc_id,))

    def clear(self) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM docs")
            self._db.execute("DELETE FROM meta")

    # -- chunks ------------------------------------------------------------------------------
    def get_chunks(self, ids: list[str]) -> dict[str, Chunk]:
        out: dict[str, Chunk] = {}
        for i in range(0, len(ids), 500):
            batch = ids[i:i + 500]
            marks = ",".join("?" * len(batch))
            for row in self._db.execute(
                f"{_CHUNK_COLUMNS} FROM chunks WHERE id IN ({marks})", batch,
            ):
                out[row[0]] = _chunk(row)
        return out

    def all_chunks(self) -> Iterator[Chunk]:
        for row in self._db.execute(
            f"{_CHUNK_COLUMNS} FROM chunks ORDER BY doc_id, seq"
        ):
            yield _chunk(row)

    def all_chunk_ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT id FROM chunks")}

    def count_chunks(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def _transaction(self) -> _Tx:
        return _Tx(self._db)


class _Tx:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        if not exc_type:
            self.db.execute("COMMIT")
        elif self.db.in_transaction:  # SQLite may have rolled back itself (a full disk does)
            self.db.execute("ROLLBACK")


def _chunk(row: tuple) -> Chunk:
    return Chunk(id=row[0], doc_id=row[1], title=row[2], heading_path=tuple(json.loads(row[3])),
                 start=row[4], end=row[5], text=row[6],
                 glossary=tuple((short, long) for short, long in json.loads(row[7])),
                 page=row[8], page_end=row[9],
                 page_breaks=tuple((at, page) for at, page in json.loads(row[10] or "[]")),
                 anchor=row[11], ocr_pages=tuple(json.loads(row[12] or "[]")))
