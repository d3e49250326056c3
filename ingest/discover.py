"""Which files a sync reads, and the document id each one gets.

A document's id is its path relative to the sources folder, or its absolute path for a
file ingested by PATH from outside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import SourcesError
from ingest.loaders import SUPPORTED, is_supported


@dataclass
class Discovery:
    """The files a sync reads, and those it passes over: (path, reason) each."""

    found: list[Path] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def discover(sources_dir: Path, paths: list[Path] | None) -> Discovery:
    """Supported files under `paths` (or the sources folder); the rest are `skipped` (hidden,
    broken or escaping symlinks, unsupported types) or `failed` (a PATH that does not
    exist). `SourcesError` when the sources folder is missing or holds nothing to read."""
    summary = Discovery()
    roots = paths or [sources_dir]
    if not paths and not sources_dir.is_dir():
        raise SourcesError(
            f"Sources folder {sources_dir} does not exist: create it and put documents in it, "
            "or set CITEWISE_SOURCES_DIR.")
    found = summary.found
    for root in roots:
        if not root.exists():
            summary.failed.append((str(root), "no such file or folder"))
            continue
        files = [root] if root.is_file() else sorted(
            p for p in root.rglob("*") if p.is_file() or (p.is_symlink() and not p.exists()))
        base = root if root.is_dir() else root.parent
        for path in files:
            rel = path.relative_to(base)
            if any(part.startswith(".") for part in rel.parts):
                summary.skipped.append((str(path), "hidden file"))
            elif not path.exists():
                summary.skipped.append((str(path), "broken symlink: it points to nothing"))
            elif path.is_symlink() and not _inside(path.resolve(), base.resolve()):
                summary.skipped.append((str(path), "symlink pointing outside the folder"))
            elif not is_supported(path):
                summary.skipped.append(
                    (str(path), f"unsupported file type {path.suffix or '(none)'!r}; "
                                f"supported: {' '.join(SUPPORTED)}"))
            else:
                found.append(path)
    if not paths and not found and not summary.failed:
        raise SourcesError(
            f"Sources folder {sources_dir} holds no {' '.join(SUPPORTED)} files: add some "
            "and run `citewise ingest` again.")
    return summary


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def doc_id_for(path: Path, sources_dir: Path) -> str:
    resolved = path.resolve() if not path.is_symlink() else path.absolute()
    try:
        return resolved.relative_to(sources_dir.resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def in_scope(path: Path, sources_dir: Path, paths: list[Path] | None) -> bool:
    roots = paths or [sources_dir]
    p = path.absolute()
    return any(p == r.absolute() or r.absolute() in p.parents for r in roots)
