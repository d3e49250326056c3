"""Document management for the web UI, as plain Python: list, view, upload, delete, re-ingest.

Every change goes through the sources folder and then `Citewise.ingest()`, the same sync the
CLI runs: an upload is a file saved into the folder, a delete is a file removed from it,
and "re-ingest now" syncs whatever changed on disk. One change at a time per server (a
second one is told to wait); questions go on meanwhile (see `app.service`).

Uploads are checked one by one and each bad file gets its own reason: a type citewise
cannot read, a hidden or clashing name, an empty or too large file, or a file the ingest
could not read (it is then removed again, so it does not fail every later sync).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from app.service import Citewise
from index.sync import IngestSummary
from ingest.errors import (
    CitewiseError,
    DiskFullError,
    IndexMissingError,
    SourcesError,
    is_disk_full,
)
from ingest.loaders import SUPPORTED

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]  # (fraction done, what is happening)

ALLOWED_SUFFIXES = tuple(sorted(SUPPORTED))
BUSY = ("Another upload, delete or re-ingest is running: wait for it to finish, then try "
        "again.")


@dataclass(frozen=True)
class DocumentRow:
    doc_id: str
    title: str
    file: str
    chunks: int
    ingested_at: float

    @property
    def ingested(self) -> str:
        return datetime.fromtimestamp(self.ingested_at).strftime("%Y-%m-%d %H:%M")


@dataclass
class Outcome:
    """What a change did: `message` for people, `errors` per file (name, reason)."""

    ok: bool
    message: str
    errors: list[tuple[str, str]] = field(default_factory=list)
    saved: list[str] = field(default_factory=list)
    summary: IngestSummary | None = None


def summary_text(s: IngestSummary) -> str:
    return (f"{len(s.added)} added, {len(s.updated)} updated, {len(s.removed)} removed, "
            f"{len(s.unchanged)} unchanged; {s.chunks_embedded} chunks embedded, "
            f"{s.chunks_total} chunks in the index.")


def safe_name(name: str) -> str:
    """The base name of an uploaded file, with anything but letters, digits, space, dot,
    dash and underscore replaced by "_"."""
    base = re.split(r"[\\/]", name)[-1].strip()
    return re.sub(r"[^\w.\- ]", "_", base)


def check_upload(path: Path, name: str, sources_dir: Path, max_bytes: int) -> str | None:
    """Why this upload cannot be saved as `name`, or None if it can."""
    suffix = Path(name).suffix.lower()
    if not name or name.startswith("."):
        return "hidden or empty file name: rename the file"
    if suffix not in SUPPORTED:
        return (f"unsupported file type {suffix or '(none)'!r}: upload "
                f"{', '.join(ALLOWED_SUFFIXES)}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"cannot read the upload: {exc.strerror or exc}"
    if size == 0:
        return "the file is empty"
    if size > max_bytes:
        return (f"too large: {size / 1e6:.1f} MB, over the upload limit of "
                f"{max_bytes / 1e6:g} MB (CITEWISE_MAX_UPLOAD_MB)")
    if (sources_dir / name).exists():
        return ("a document with this name is already in the sources folder: delete it "
                "first, or rename the file")
    return None


def save_uploads(files: Sequence[str | Path], sources_dir: Path, max_bytes: int,
                 names: Sequence[str] | None = None) -> Outcome:
    """Copy acceptable uploads into `sources_dir`; each refused one gets its reason.
    A file appears under its final name only once completely written."""
    out = Outcome(ok=True, message="")
    sources_dir.mkdir(parents=True, exist_ok=True)
    for i, f in enumerate(files):
        path = Path(f)
        name = safe_name(names[i] if names else path.name)
        reason = check_upload(path, name, sources_dir, max_bytes)
        if reason is None and name in out.saved:
            reason = "uploaded twice"
        if reason is not None:
            out.errors.append((name or path.name, reason))
            continue
        tmp = sources_dir / f".upload-{os.getpid()}-{threading.get_ident()}-{name}"
        try:
            shutil.copyfile(path, tmp)
            os.replace(tmp, sources_dir / name)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            why = (str(DiskFullError(sources_dir, "upload it again")) if is_disk_full(exc)
                   else f"cannot save it: {exc.strerror or exc}")
            out.errors.append((name, why))
            continue
        out.saved.append(name)
    return out


class Documents:
    """The documents of one `Citewise`, and the one change at a time that may alter them."""

    def __init__(self, service: Citewise):
        self.service = service
        self._writing = threading.Lock()

    @property
    def sources_dir(self) -> Path:
        return self.service.settings.sources_dir

    @property
    def max_upload_bytes(self) -> int:
        return int(self.service.settings.max_upload_mb * 1_000_000)

    # -- reading -------------------------------------------------------------------------
    def rows(self) -> list[DocumentRow]:
        """Every indexed document, by title; [] before the first ingest."""
        try:
            docs = self.service.documents()
        except IndexMissingError:
            return []
        rows = [DocumentRow(d.doc_id, d.title, d.doc_id, d.n_chunks, d.ingested_at)
                for d in docs]
        return sorted(rows, key=lambda r: (r.title.lower(), r.doc_id))

    def text(self, doc_id: str) -> str | None:
        """A document's cleaned text (what citations point into), or None if unknown."""
        try:
            return self.service.document_text(doc_id)
        except IndexMissingError:
            return None

    # -- changing ------------------------------------------------------------------------
    def reingest(self, progress: Progress | None = None) -> Outcome:
        """Sync the index to the sources folder, like `citewise ingest`."""
        if not self._writing.acquire(blocking=False):
            return Outcome(False, BUSY)
        try:
            summary = self._sync(progress)
        except CitewiseError as exc:
            return Outcome(False, str(exc))
        finally:
            self._writing.release()
        failures = _failures(summary)
        message = summary_text(summary) + (" Could not read:" if failures else "")
        return Outcome(True, message, failures, summary=summary)

    def upload(self, files: Sequence[str | Path], progress: Progress | None = None,
               names: Sequence[str] | None = None) -> Outcome:
        """Save the acceptable files into the sources folder and ingest them."""
        if not files:
            return Outcome(False, "Choose one or more files to upload first.")
        if not self._writing.acquire(blocking=False):
            return Outcome(False, BUSY)
        try:
            out = save_uploads(files, self.sources_dir, self.max_upload_bytes, names)
            if not out.saved:
                out.ok = False
                out.message = "Nothing was added:"
                return out
            try:
                out.summary = self._sync(progress)
            except CitewiseError as exc:
                for name in out.saved:  # leave the folder as it was
                    (self.sources_dir / name).unlink(missing_ok=True)
                out.ok, out.message, out.saved = False, str(exc), []
                return out
            self._drop_failed(out)
        finally:
            self._writing.release()
        added = ", ".join(out.saved) if out.saved else "nothing"
        out.ok = bool(out.saved)
        out.message = f"Added {added}. " + summary_text(out.summary)
        if out.errors:
            out.message += " Not added:"
        return out

    def delete(self, doc_id: str, progress: Progress | None = None) -> Outcome:
        """Delete a document's file from the sources folder and sync it out of the index."""
        if not doc_id:
            return Outcome(False, "Choose a document to delete first.")
        known = {row.doc_id for row in self.rows()}
        if doc_id not in known:
            return Outcome(False, f"{doc_id} is not in the index: refresh the list.")
        root = Path(os.path.abspath(self.sources_dir))
        target = Path(os.path.abspath(root / doc_id))  # a symlink is removed, not followed
        if root not in target.parents:
            return Outcome(False, f"{doc_id} is not in the sources folder ({self.sources_dir})"
                                  ": delete it where it lives, then re-ingest.")
        if not self._writing.acquire(blocking=False):
            return Outcome(False, BUSY)
        try:
            try:
                target.unlink(missing_ok=True)
            except OSError as exc:
                return Outcome(False, f"Cannot delete {doc_id}: {exc.strerror or exc}.")
            try:
                summary = self._sync(progress)
            except SourcesError:  # that was the last document: sync just its path
                summary = self._sync(progress, [target])
            except CitewiseError as exc:
                return Outcome(False, f"Deleted the file of {doc_id}, but the index was not "
                                      f"updated: {exc}")
        finally:
            self._writing.release()
        if doc_id not in summary.removed:
            return Outcome(False, f"Deleted the file of {doc_id}, but the index still holds "
                                  "it: click Re-ingest now.", summary=summary)
        return Outcome(True, f"Deleted {doc_id}. " + summary_text(summary), summary=summary)

    def _sync(self, progress: Progress | None, paths: list[Path] | None = None
              ) -> IngestSummary:
        if progress:
            progress(0.0, "Reading the sources folder")
        # progress=True gives tqdm bars, which the UI's progress bar follows.
        summary = self.service.ingest(paths, progress=progress is not None)
        if progress:
            progress(1.0, "Index up to date")
        log.info("sync: %s", summary_text(summary))
        return summary

    def _drop_failed(self, out: Outcome) -> None:
        """Remove uploads the ingest could not read, so they do not fail every sync."""
        assert out.summary is not None
        saved = {os.path.abspath(self.sources_dir / n): n for n in out.saved}
        for path, reason in out.summary.failed:
            name = saved.get(os.path.abspath(path))
            if name is None:
                continue
            (self.sources_dir / name).unlink(missing_ok=True)
            out.saved.remove(name)
            out.errors.append((name, reason))


def _failures(summary: IngestSummary) -> list[tuple[str, str]]:
    return [(Path(p).name, r) for p, r in summary.failed]
