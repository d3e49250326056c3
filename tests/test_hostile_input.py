"""Hostile input: files made to hang or break ingest, generated here for every format.

Issue 19: 200,000 nested `<div>`s around one sentence kept `citewise ingest` busy for hours
(quadratic in the depth), and the web UI's re-ingest with it. The class is closed three
ways, each tested here:

1. every file is read in a child process within a time budget (CITEWISE_MAX_DOC_SECONDS,
   ingest/worker.py): a file over it is listed as failed with the reason and the sync goes
   on, also when it runs in a thread other than the main one, as the web UI's does;
2. a corpus of pathological files for each format (.html, .md, .txt, .pdf: deep nesting,
   one huge line, many tiny blocks, a huge table, repeated boilerplate, long runs of what
   the cleaning and splitting rules loop on, bad encodings, zero-width and right-to-left
   characters) is ingested or refused with a reason within a small budget: the outcome is
   asserted, never a time;
3. every regex of the cleaning and splitting code is run on its worst input
   (tests/test_regex_backtracking.py).
The Markdown and HTML readers that replaced regexes are tested in tests/test_markup_readers.py.

Figures of time against size, for the worst input of each format, come from
bench/hostile.py. The time limits of the tests (`pytest.mark.timeout`) only stop a hang of
the old code; no test asserts a time.
"""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

import pytest

from ingest import worker as worker_module
from ingest.errors import LoadError
from ingest.loaders import Block, load
from ingest.worker import Worker, load_job

pytestmark = pytest.mark.timeout(900)

BUDGET = 20.0  # seconds a file in the tests below (the default is 60)


def sentence(name: str) -> str:
    """A sentence that only the file `name` holds (a shared one would be removed as a line
    repeated across documents)."""
    return (f"The file {name} says that Lambert-Eaton myasthenic syndrome is an autoimmune "
            "disorder of the neuromuscular junction.")


# ---------------------------------------------------------------------------------------------
# Targets the child process runs in the tests (importable: tests/ is a package)
# ---------------------------------------------------------------------------------------------


def hostile_job(name: str, data: bytes, max_chars: int | None, *options: object):
    """`load_job`, except for files named to misbehave: "slow*" never ends, "crash*" kills
    the process reading it."""
    if name.startswith("slow"):
        time.sleep(3600)
    if name.startswith("crash"):
        os._exit(3)
    return load_job(name, data, max_chars, *options)


# ---------------------------------------------------------------------------------------------
# 1. The time budget
# ---------------------------------------------------------------------------------------------


def _jobs(names: list[str]):
    return [(name, (name, f"{sentence(name)}\n".encode(), None)) for name in names]


def test_a_file_over_its_budget_fails_with_the_reason_and_the_rest_is_read() -> None:
    names = ["a.txt", "slow.txt", "b.txt", "crash.txt", "c.txt"]
    with Worker(2.0, target="tests.test_hostile_input:hostile_job", batch_files=8) as w:
        results = dict(w.run(_jobs(names)))
        started = w.started
    for name in ["a.txt", "b.txt", "c.txt"]:
        assert results[name][:2] == (len(sentence(name)),
                                     [(sentence(name), "para", 0, None, None)])
    assert isinstance(results["slow.txt"], LoadError)
    assert str(results["slow.txt"]) == (
        "took longer than 2 s to read (CITEWISE_MAX_DOC_SECONDS): simplify or "
        "split the file, or raise the limit")
    assert isinstance(results["crash.txt"], LoadError)
    assert "the process reading it died (exit code 3)" in str(results["crash.txt"])
    assert started == 3  # one child, replaced after the overrun and after the crash


def test_one_child_reads_many_files() -> None:
    names = [f"{i}.txt" for i in range(300)]
    with Worker(BUDGET, batch_files=64) as w:
        results = list(w.run(_jobs(names)))
        assert w.started == 1
    assert [name for name, _ in results] == names
    assert all(out[1] == [(sentence(n), "para", 0, None, None)] for n, out in results)


def test_without_a_budget_files_are_read_in_this_process() -> None:
    with Worker(None) as w:
        results = list(w.run(_jobs(["a.txt"])))
        assert w.started == 0
    assert [(name, out[:2]) for name, out in results] == [
        ("a.txt", (len(sentence("a.txt")), [(sentence("a.txt"), "para", 0, None, None)]))]


def test_loader_errors_come_back_as_the_reason() -> None:
    jobs = [("e.txt", ("e.txt", b"", None)), ("b.txt", ("b.txt", b"\x00\x01" * 100, None)),
            ("big.txt", ("big.txt", b"word " * 100, 50))]
    with Worker(BUDGET) as w:
        results = dict(w.run(jobs))
    assert str(results["e.txt"]) == "file is empty"
    assert "binary" in str(results["b.txt"])
    assert results["big.txt"][:2] == (499, None)  # over max_chars: measured, blocks not sent


@pytest.mark.parametrize("in_thread", [False, True], ids=["main thread", "worker thread"])
def test_sync_reports_an_overrun_and_goes_on(sources: Path, tmp_path: Path, embedder,
                                             monkeypatch: pytest.MonkeyPatch,
                                             in_thread: bool) -> None:
    """As the web UI re-ingests, in a thread: signal.alarm could not work there."""
    from app.config import Settings
    from app.service import Citewise

    monkeypatch.setattr(worker_module, "TARGET", "tests.test_hostile_input:hostile_job")
    (sources / "slow.html").write_text(f"<p>{sentence('slow.html')}</p>")
    (sources / "after.txt").write_text(sentence("after.txt") + "\n")
    settings = Settings(sources_dir=sources, index_dir=tmp_path / "index", _env_file=None,
                        max_doc_seconds=2)
    service = Citewise(settings, embedder)
    box: dict = {}
    if in_thread:
        thread = threading.Thread(target=lambda: box.update(summary=service.ingest()))
        thread.start()
        thread.join()
    else:
        box["summary"] = service.ingest()
    summary = box["summary"]
    assert summary.failed == [(str(sources / "slow.html"),
                               "took longer than 2 s to read (CITEWISE_MAX_DOC_SECONDS): "
                               "simplify or split the file, or raise the limit")]
    assert "after.txt" in summary.added and len(summary.added) == 3


def test_max_doc_seconds_must_be_positive() -> None:
    from pydantic import ValidationError

    from app.config import Settings

    assert Settings(_env_file=None).max_doc_seconds == 60
    with pytest.raises(ValidationError):
        Settings(_env_file=None, max_doc_seconds=0)


# ---------------------------------------------------------------------------------------------
# 2. The hostile corpus, one sync per format
# ---------------------------------------------------------------------------------------------
ADDED = "added"


def _pdf(pages: list[bytes]) -> bytes:
    """A PDF whose pages show the given content streams in Helvetica."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica")}))
    for content in pages:
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
        stream = DecodedStreamObject()
        stream.set_data(content)
        page[NameObject("/Contents")] = writer._add_object(stream)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def _pdf_lines(lines: list[str]) -> bytes:
    shown = b" ".join(b"(" + line.encode("latin-1") + b") Tj T*" for line in lines)
    return b"BT /F1 10 Tf 12 TL 72 720 Td " + shown + b" ET"


def _abbreviations(n: int) -> str:
    """`n` paragraphs, each defining an abbreviation of its own and using it."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = []
    for i in range(n):
        short = "".join(letters[(i // 26 ** k) % 26] for k in range(3))
        words = " ".join(f"{c.lower()}word{i}" for c in short)
        out.append(f"The {words} ({short}) is measured in patients. It rose in {short} "
                   "cases.\n\n")
    return "".join(out)


ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
RTL = "\u200f\u202e\u2067"


def corpus(fmt: str) -> dict[str, tuple[bytes, str | tuple[str, str]]]:
    """name -> (content, "added" (the file's sentence must be in the index) or ("failed",
    words of the reason))."""
    s = sentence
    if fmt == "html":
        files = {
            "deep-divs.html": "<div>" * 100_000 + s("deep-divs.html") + "</div>" * 100_000,
            "deep-unclosed.html": "<html><body>" + "<div><span>" * 25_000
                                  + s("deep-unclosed.html"),
            "mismatched-ends.html": "<body>" + "<b>" * 15_000 + "<div>" * 15_000
                                    + s("mismatched-ends.html") + "</b>" * 15_000 + "</i>" * 15_000,
            "open-attribute.html": f"<p>{s('open-attribute.html')}</p>" + "<a x='" * 25_000,
            "open-tags.html": f"<p>{s('open-tags.html')}</p>" + "<a" * 50_000,
            "open-comments.html": f"<p>{s('open-comments.html')}</p>" + "<!-- >" * 25_000,
            "entities.html": f"<p>{s('entities.html')}</p><p>" + "&amp" * 50_000 + "</p>",
            "table.html": "<table>" + "<tr><td>Pyridostigmine 60 mg.</td><td>Daily.</td></tr>"
                          * 10_000 + f"</table><p>{s('table.html')}</p>",
            # 2 MB of a data table read as rows (ingest/tables.py), and tables nested 20,000
            # deep around the sentence
            "big-table.html": "<table><tr><th>Drug</th><th>Dose</th></tr>"
                              + "<tr><td>Pyridostigmine</td><td>60 mg daily</td></tr>" * 40_000
                              + f"</table><p>{s('big-table.html')}</p>",
            "deep-tables.html": "<table><tr><td>" * 20_000 + s("deep-tables.html")
                                + "</td></tr></table>" * 20_000,
            "tiny-blocks.html": "<p>x</p>" * 50_000 + f"<p>{s('tiny-blocks.html')}</p>",
            "one-line.html": "<p>" + "word " * 50_000 + s("one-line.html") + "</p>",
            "boilerplate.html": "<p>Subscribe to our newsletter</p>" * 10_000
                                + f"<p>{s('boilerplate.html')}</p>",
            "script-run.html": f"<p>{s('script-run.html')}</p>" + "<script>" * 25_000,
            "zero-width.html": f"<p>{ZERO_WIDTH * 1000}{s('zero-width.html')}{RTL * 1000}</p>",
        }
        out = {name: (text.encode(), ADDED) for name, text in files.items()}
        out["bad-bytes.html"] = (bytes(range(1, 256)) * 4000, ("failed", "does not look like text"))
        return out
    if fmt == "md":
        files = {
            "deep-quote.md": ">" * 50_000 + " " + s("deep-quote.md"),
            "deep-list.md": "- " * 25_000 + s("deep-list.md"),
            "deep-list-lines.md": "".join("  " * i + "- item\n" for i in range(1000))
                                  + "\n" + s("deep-list-lines.md"),
            "brackets.md": "[" * 25_000 + s("brackets.md") + "]" * 25_000,
            "open-links.md": "[a](" * 25_000 + "\n\n" + s("open-links.md"),
            "emphasis.md": "*a _b " * 25_000 + "\n\n" + s("emphasis.md"),
            "backticks.md": "a `b " * 25_000 + "\n\n" + s("backticks.md"),
            "link-parens.md": "[click](javascript:alert(1)) the guideline. "
                              + s("link-parens.md"),
            "tiny-blocks.md": "x\n\n" * 50_000 + s("tiny-blocks.md"),
            "table.md": "| drug | dose |\n|---|---|\n" + "| pyridostigmine | 60 mg |\n" * 10_000
                        + "\n" + s("table.md"),
            "html-inside.md": "<div>" * 25_000 + "\n\n" + s("html-inside.md"),
            "one-line.md": "word " * 50_000 + s("one-line.md"),
            "zero-width.md": ZERO_WIDTH * 1000 + s("zero-width.md") + RTL * 1000,
        }
        return {name: (text.encode(), ADDED) for name, text in files.items()}
    if fmt == "txt":
        files = {
            "one-line.txt": "word " * 50_000 + s("one-line.txt"),
            "tiny-lines.txt": "x\n" * 100_000 + s("tiny-lines.txt"),
            "boilerplate.txt": "Subscribe to our newsletter\n" * 10_000 + s("boilerplate.txt"),
            "initials.txt": "Dr. Smith " * 25_000 + s("initials.txt"),
            "abbreviations.txt": _abbreviations(1000) + s("abbreviations.txt"),
            "spaces.txt": s("spaces.txt") + " " * 500_000 + "End.",
            "dots.txt": "." * 500_000 + " " + s("dots.txt"),
            "brackets.txt": s("brackets.txt") + " " + ".)" * 250_000 + " A",
            "bullets.txt": "• " * 250_000 + "\n" + s("bullets.txt"),
            "digits.txt": "1" * 500_000 + "\n" + s("digits.txt"),
            "reader.txt": "you " * 100_000 + "\n" + s("reader.txt"),
            "meta.txt": "reviewed by " * 50_000 + "\n" + s("meta.txt"),
            "zero-width.txt": ZERO_WIDTH * 1000 + s("zero-width.txt") + RTL * 1000,
        }
        out = {name: (text.encode(), ADDED) for name, text in files.items()}
        out["latin1.txt"] = (s("latin1.txt").replace("syndrome", "syndrôme").encode("latin-1"),
                             ADDED)
        out["utf16.txt"] = (s("utf16.txt").encode("utf-16"), ADDED)
        out["bad-utf8.txt"] = (bytes(range(128, 256)) * 5000,
                               ("failed", "not valid UTF-8 and does not look like text"))
        out["nul.txt"] = (b"\x00" * 50_000, ("failed", "binary"))
        return out
    if fmt == "pdf":
        boiler = [_pdf_lines(["Journal of Hostile Examples", f"Page {i} of the journal.",
                              "Copyright notice of the journal."]) for i in range(200)]
        boiler[100] = _pdf_lines(["Journal of Hostile Examples", s("boilerplate.pdf")])
        return {
            "one-line.pdf": (_pdf([_pdf_lines(["word " * 25_000 + s("one-line.pdf")])]), ADDED),
            "tiny-lines.pdf": (_pdf([_pdf_lines(["x."] * 5000 + [s("tiny-lines.pdf")])]),
                               ADDED),
            "boilerplate.pdf": (_pdf(boiler), ADDED),
            "nested-arrays.pdf": (_pdf([b"[" * 50_000 + b"]" * 50_000 + b" "
                                        + _pdf_lines([s("nested-arrays.pdf")])]),
                                  ("failed", "broken or unreadable PDF")),
            "zero-width.pdf": (_pdf([_pdf_lines(["\u00ad" * 1000 + s("zero-width.pdf")])]),
                               ADDED),
        }
    raise ValueError(fmt)


# What must not be left in a file's text: the markup the old regex Markdown reader kept.
FORBIDDEN = {"deep-quote.md": ">>>", "deep-list.md": "- - ", "link-parens.md": "click)",
             "html-inside.md": "<div>"}


@pytest.mark.parametrize("fmt", ["html", "md", "txt", "pdf"])
def test_every_hostile_file_is_ingested_or_refused_with_a_reason(
        fmt: str, tmp_path: Path, embedder) -> None:
    from app.config import Settings
    from app.service import Citewise

    sources = tmp_path / "sources"
    sources.mkdir()
    files = corpus(fmt)
    for name, (data, _) in files.items():
        (sources / name).write_bytes(data)
    settings = Settings(sources_dir=sources, index_dir=tmp_path / "index", _env_file=None,
                        max_doc_seconds=BUDGET)
    service = Citewise(settings, embedder)
    summary = service.ingest()
    failed = {Path(path).name: reason for path, reason in summary.failed}
    for name, (_, expected) in files.items():
        if expected == ADDED:
            assert name in summary.added, (name, failed.get(name))
            text = service.index.manifest.doc_text(name) or ""
            assert " ".join(sentence(name).split()[-8:]) in text, name
            assert FORBIDDEN.get(name, "\x00") not in text, name
        else:
            assert expected[1] in failed.get(name, ""), (name, failed.get(name))
    assert set(summary.added) | set(failed) == set(files)


@pytest.mark.parametrize("text, expected", [
    (">" * 5000 + " Deep quote.", [Block("Deep quote.", "para")]),
    ("- " * 5000 + "Deep item.", [Block("Deep item.", "item")]),
    ("> - " * 3000 + "Both.\n\nAfter.", [Block("Both.", "item"), Block("After.", "para")]),
])
def test_markdown_nested_deeper_than_the_parser_goes_keeps_its_text(
        tmp_path: Path, text: str, expected: list[Block]) -> None:
    """markdown-it drops what is nested deeper than its limit: read flat instead."""
    path = tmp_path / "a.md"
    path.write_text(text)
    assert load(path) == expected


def test_the_worker_reads_when_descriptors_above_1024_are_in_use() -> None:
    """A long-running process (the web server, this test suite) passes 1,024 open files;
    waiting on the child with select() then failed with 'filedescriptor out of range'."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"the hard limit on open files is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with Worker(BUDGET) as w:
            ((name, result),) = list(w.run(_jobs(["high-fd.txt"])))
        assert name == "high-fd.txt" and not isinstance(result, LoadError)
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
