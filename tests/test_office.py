"""Office formats (ingest/office.py, ingest/sheets.py): a small real file of each format is
ingested through the reader child, asked about (extractive) and its citation checked
(`doc_text[start:end] == quote`, heading path); broken and password-protected files are
reported with their reason while the rest of the folder goes on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import ingest.sheets
from app.config import Settings
from app.service import Citewise
from app.web.documents import ALLOWED_SUFFIXES, Documents, check_upload
from ingest.discover import discover
from ingest.errors import LoadError
from ingest.loaders import SUPPORTED, load
from ingest.types import Block
from tests import office_samples as samples
from tests.conftest import ROOT
from tests.fakes import HashingEmbedder

NEW = (".docx", ".pptx", ".xlsx", ".xls", ".csv", ".epub", ".ipynb")

# (format, question, words the cited quote holds, its heading path)
CASES = [
    (".docx", "What causes Lambert-Eaton myasthenic syndrome? antibodies calcium channels",
     "antibodies against calcium channels",
     ("Neuromuscular disorders", "Lambert-Eaton syndrome", "Cause")),
    (".docx", "What is the dose of amifampridine?", "Dose: 10 mg three times a day",
     ("Neuromuscular disorders", "Treatment")),
    (".pptx", "What causes Lambert-Eaton myasthenic syndrome? antibodies calcium channels",
     "antibodies against calcium channels", ("Lambert-Eaton syndrome",)),
    (".pptx", "What is the dose of amifampridine?", "Dose: 10 mg three times a day",
     ("Symptomatic treatment",)),
    (".xlsx", "What is the dose of amifampridine?", "Dose: 10 mg three times a day",
     ("Doses",)),
    (".xlsx", "Which test finding is seen on repetitive nerve stimulation?",
     "Finding: increment after exercise", ("Tests",)),
    (".xls", "What is the dose of amifampridine?", "Dose: 10 mg three times a day",
     ("Doses",)),
    (".csv", "What is the dose of amifampridine?", "Dose: 10 mg three times a day",
     ("sample",)),
    (".csv", "What is the dose of pyridostigmine?", "Dose: 60 mg", ("sample",)),
    (".epub", "What causes Lambert-Eaton myasthenic syndrome? antibodies calcium channels",
     "antibodies against calcium channels",
     ("Neuromuscular notes", "Lambert-Eaton syndrome", "Cause")),
    (".epub", "What causes myasthenia gravis? acetylcholine receptors",
     "antibodies against acetylcholine receptors", ("Neuromuscular notes", "Myasthenia gravis")),
    (".ipynb", "What causes Lambert-Eaton myasthenic syndrome? antibodies calcium channels",
     "antibodies against calcium channels", ("Lambert-Eaton syndrome", "Cause")),
    (".ipynb", "What is the median age at onset?", "Median age at onset: 60 years", None),
]


def _service(tmp_path: Path, sources: Path) -> Citewise:
    settings = Settings(sources_dir=sources, index_dir=tmp_path / "index", _env_file=None)
    return Citewise(settings, HashingEmbedder())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("office")
    return {ext: build(folder / f"sample{ext}") for ext, build in samples.BUILDERS.items()}


def test_every_new_format_is_supported_and_listed(tmp_path: Path) -> None:
    for ext in NEW:
        assert SUPPORTED[ext] and ext in ALLOWED_SUFFIXES
        upload = tmp_path / f"up{ext}"
        upload.write_bytes(b"x")
        assert check_upload(upload, f"new{ext}", tmp_path / "sources", 10**6) is None
    (tmp_path / "notes.rtf").write_text("x")
    skipped = discover(tmp_path, None).skipped
    assert any(".docx .pptx .xlsx .xls .csv .epub .ipynb" in why for _, why in skipped)


def test_web_upload_ingests_office_files_and_removes_an_unreadable_one(
        tmp_path: Path, built: dict[str, Path]) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "seed.txt").write_text("Plasmapheresis removes antibodies from the blood.\n")
    documents = Documents(_service(tmp_path, sources))
    locked = samples.encrypted_ooxml(tmp_path / "locked.docx", built[".docx"])
    out = documents.upload([built[".xlsx"], built[".epub"], locked])
    assert out.ok and sorted(out.saved) == ["sample.epub", "sample.xlsx"], out.message
    assert [name for name, _ in out.errors] == ["locked.docx"]
    assert "password-protected" in out.errors[0][1]
    assert not (sources / "locked.docx").exists()  # removed again: later syncs stay clean
    text = documents.text("sample.xlsx")
    assert text is not None and "Drug: Rituximab; Indication: refractory" in text


@pytest.mark.parametrize("ext", NEW)
def test_blocks_keep_headings_and_rows(built: dict[str, Path], ext: str) -> None:
    blocks = load(built[ext])
    headings = [(b.text, b.level) for b in blocks if b.kind == "heading"]
    rows = [b.text for b in blocks if b.kind == "row"]
    expected_headings = {
        ".docx": [("Neuromuscular disorders", 1), ("Lambert-Eaton syndrome", 2),
                  ("Cause", 3), ("Treatment", 2)],
        ".pptx": [("Lambert-Eaton syndrome", 1), ("Symptomatic treatment", 1)],
        ".xlsx": [("Doses", 1), ("Tests", 1)],
        ".xls": [("Doses", 1)],
        ".csv": [("sample", 1)],  # the file's name
        ".epub": [("Neuromuscular notes", 1), ("Lambert-Eaton syndrome", 2), ("Cause", 3),
                  ("Myasthenia gravis", 2)],  # the book's title above its chapters
        ".ipynb": [("Lambert-Eaton syndrome", 1), ("Cause", 2)],
    }[ext]
    assert headings == expected_headings
    if ext in (".xlsx", ".xls"):
        assert rows[:3] == [
            "Drug: Amifampridine; Dose: 10 mg three times a day; Indication: Lambert-Eaton "
            "syndrome.",
            "Drug: Pyridostigmine; Dose: 60; Indication: myasthenia gravis.",  # not 60.0
            "Drug: Rituximab; Indication: refractory autoimmune disease."]  # no empty cell
    if ext == ".csv":  # semicolons sniffed
        assert rows[0].startswith("Drug: Amifampridine; Dose: 10 mg three times a day;")
    if ext in (".docx", ".pptx"):
        assert "Drug: Pyridostigmine; Dose: 60 mg." in rows
        assert any(b.kind == "item" and b.text == (
            "Proximal leg weakness" if ext == ".docx" else "Proximal muscle weakness")
            for b in blocks)
    if ext == ".ipynb":  # outputs are read, code is not
        texts = " ".join(b.text for b in blocks)
        assert "Median age at onset: 60 years." in texts and "secret_module" not in texts
    if ext == ".pptx":  # the reader's own markup is not in the text
        assert not any(m in b.text for b in blocks for m in ("Title:", "-----", "**"))


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory):
    """One index per format, built the first time a test asks for it: the file alone in
    its sources folder, ingested through the reader child."""
    services: dict[str, Citewise] = {}

    def get(ext: str) -> Citewise:
        if ext not in services:
            folder = tmp_path_factory.mktemp(f"indexed{ext}")
            sources = folder / "sources"
            sources.mkdir()
            samples.BUILDERS[ext](sources / f"sample{ext}")
            service = _service(folder, sources)
            summary = service.ingest()
            assert summary.failed == [] and summary.added == [f"sample{ext}"]
            services[ext] = service
        return services[ext]

    return get


@pytest.mark.parametrize(("ext", "question", "quoted", "path"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_ingest_ask_and_cite(indexed, ext: str, question: str, quoted: str,
                             path: tuple[str, ...] | None) -> None:
    service = indexed(ext)
    answer = service.ask(question, mode="extractive")
    assert not answer.abstained
    citation = next((c for c in answer.citations if quoted in c.quote), None)
    assert citation is not None, [c.quote for c in answer.citations]
    text = service.document_text(citation.doc_id)
    assert text is not None and text[citation.start:citation.end] == citation.quote
    assert citation.doc_id == f"sample{ext}"
    if path is not None:
        assert citation.heading_path == path
    if ext in (".xlsx", ".xls", ".csv"):  # one row, cited on its own
        assert "\n" not in citation.quote and citation.quote.count("Drug:") <= 1


def test_unchanged_office_files_embed_nothing_the_second_time(tmp_path: Path) -> None:
    """Every format but .pptx, whose reader child pays llama-index's import on each of the
    three syncs (seconds each on a loaded machine); the sync path is the same for all."""
    formats = [ext for ext in NEW if ext != ".pptx"]
    sources = tmp_path / "sources"
    sources.mkdir()
    for ext in formats:
        samples.BUILDERS[ext](sources / f"sample{ext}")
    service = _service(tmp_path, sources)
    first = service.ingest()
    assert first.failed == [] and len(first.added) == len(formats)
    again = service.ingest()
    assert len(again.unchanged) == len(formats) and again.chunks_embedded == 0
    samples.xlsx(sources / "sample.xlsx", rows=samples.ROWS[:2], extra_sheet=False)
    edited = service.ingest()
    assert edited.updated == ["sample.xlsx"] and len(edited.unchanged) == len(formats) - 1
    assert 0 < edited.chunks_embedded < first.chunks_embedded


def test_broken_and_protected_files_are_reported_and_the_rest_goes_on(
        tmp_path: Path, built: dict[str, Path]) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    samples.docx(sources / "good.docx")
    samples.csv(sources / "good.csv")
    for ext in (".docx", ".pptx", ".xlsx"):
        samples.encrypted_ooxml(sources / f"locked{ext}", built[ext])
    samples.encrypted_xls(sources / "locked.xls")
    samples.drm_epub(sources / "locked.epub")
    for ext in NEW:
        if ext != ".csv":  # a cut CSV is still a CSV
            samples.truncated(sources / f"cut{ext}", built[ext])
    (sources / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (sources / "renamed.docx").write_bytes(b"plain text saved as .docx")
    service = _service(tmp_path, sources)
    summary = service.ingest()
    assert sorted(summary.added) == ["good.csv", "good.docx"]
    reasons = {Path(path).name: reason for path, reason in summary.failed}
    for name in ("locked.docx", "locked.pptx", "locked.xlsx", "locked.xls"):
        assert "password-protected" in reasons[name], reasons[name]
    assert "DRM-protected" in reasons["locked.epub"]
    for ext in NEW:
        if ext != ".csv":
            assert any(w in reasons[f"cut{ext}"] for w in ("damaged", "not a readable",
                                                           "not a valid")), reasons
    assert "binary" in reasons["binary.csv"]
    assert "zip archive" in reasons["renamed.docx"]
    assert len(reasons) == 13 and all(r and r[0].islower() for r in reasons.values())
    assert service.ask("What is the dose of amifampridine?", mode="extractive").citations


def test_word_tables_keep_merged_cells_and_header_rows(tmp_path: Path) -> None:
    import docx
    from docx.oxml import OxmlElement

    document = docx.Document()
    table = document.add_table(rows=5, cols=3)
    values = [("Drug", "Dose", "Route"), ("Amifampridine", "10 mg", "by mouth"),
              ("Pyridostigmine", "60 mg", ""), ("Anticoagulants", "", ""),
              ("Heparin", "5000 units", "under the skin")]
    for r, row in enumerate(values):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    table.cell(1, 2).merge(table.cell(2, 2))  # one "Route" cell for two rows
    table.cell(3, 0).merge(table.cell(3, 2))  # a group label across the table
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    document.save(tmp_path / "t.docx")
    assert [b.text for b in load(tmp_path / "t.docx")] == [
        "Drug: Amifampridine; Dose: 10 mg; Route: by mouth.",
        "Drug: Pyridostigmine; Dose: 60 mg; Route: by mouth.",  # the merged cell repeated
        "Anticoagulants.",
        "Drug: Heparin; Dose: 5000 units; Route: under the skin."]
    unmarked = docx.Document()
    figures = unmarked.add_table(rows=2, cols=2)
    for r, row in enumerate([("10 mg", "by mouth"), ("60 mg", "into a vein")]):
        for c, value in enumerate(row):
            figures.cell(r, c).text = value
    unmarked.save(tmp_path / "u.docx")  # a first row of figures is no header
    assert [b.text for b in load(tmp_path / "u.docx")] == ["10 mg; by mouth.",
                                                           "60 mg; into a vein."]


def test_a_slide_without_a_title_keeps_its_paragraph_as_text(tmp_path: Path) -> None:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[6])  # blank: no title placeholder
    box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(8), Inches(2))
    box.text_frame.text = samples.FACT
    deck.save(tmp_path / "untitled.pptx")
    assert load(tmp_path / "untitled.pptx") == [Block(samples.FACT, "para")]


def test_a_workbook_named_with_the_other_excel_suffix_is_read(tmp_path: Path) -> None:
    old = samples.xls(tmp_path / "old.xls")
    new = samples.xlsx(tmp_path / "new.xlsx", extra_sheet=False)
    (tmp_path / "old.xlsx").write_bytes(old.read_bytes())
    (tmp_path / "new.xls").write_bytes(new.read_bytes())
    assert load(tmp_path / "old.xlsx") == load(old)
    assert load(tmp_path / "new.xls") == load(new)


def test_sheet_over_the_cell_limit_is_refused(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    limit = ingest.sheets.MAX_SHEET_CELLS
    big = tmp_path / "big.csv"
    columns = 10
    lines = [",".join(f"c{i}" for i in range(columns))]
    lines += [",".join(str(r * columns + i) for i in range(columns))
              for r in range(limit // columns)]  # header + limit cells: one row too many
    big.write_text("\n".join(lines) + "\n")
    with pytest.raises(LoadError, match=r"the file has more than 100,000 cells"):
        load(big)
    big.write_text("\n".join(lines[:-1]) + "\n")  # exactly at the limit: read
    assert sum(b.kind == "row" for b in load(big)) == limit // columns - 1
    monkeypatch.setattr(ingest.sheets, "MAX_SHEET_CELLS", 8)
    with pytest.raises(LoadError, match=r"sheet 'Doses' has more than 8 cells .*split it"):
        load(samples.xlsx(tmp_path / "s.xlsx"))
    with pytest.raises(LoadError, match=r"sheet 'Doses' has more than 8 cells"):
        load(samples.xls(tmp_path / "s.xls"))


def test_office_libraries_are_imported_only_when_such_a_file_is_read() -> None:
    heavy = ["docx", "pptx", "openpyxl", "xlrd", "ebooklib", "llama_index", "pandas",
             "torch"]
    code = ("import sys, ingest.loaders, ingest.worker, ingest.discover; "
            f"print([m for m in {heavy!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.strip()
    assert out == "[]"


def test_pptx_reader_leaves_logging_and_torch_alone(built: dict[str, Path]) -> None:
    code = ("import logging, sys; from pathlib import Path; from ingest.loaders import load; "
            f"blocks = load(Path({str(built['.pptx'])!r})); "
            "print(len(blocks), logging.getLogger().handlers, 'torch' in sys.modules, "
            "'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.split(maxsplit=1)[1].strip() == "[] False False"
    assert int(out.stdout.split()[0]) > 4 and "INFO" not in out.stderr


def test_hostile_csv_files_are_read_or_refused_with_a_reason(tmp_path: Path) -> None:
    """Inputs on which `csv.Sniffer` takes quadratic time (16 kB of '"' and newlines: 28 s)
    and a field over `csv`'s size limit, read in the reader child within its budget: the
    outcome is asserted, not a time."""
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "quote-comma.csv").write_text('",' * 100_000)
    (sources / "quote-newline.csv").write_text('"\n' * 100_000)
    (sources / "huge-field.csv").write_text('Note\n"' + "x" * 200_000 + '"\n')
    (sources / "tabs.csv").write_text("Drug\tDose\nAmifampridine\t10 mg three times a day\n")
    settings = Settings(sources_dir=sources, index_dir=tmp_path / "index", _env_file=None,
                        max_doc_seconds=30)
    service = Citewise(settings, HashingEmbedder())
    summary = service.ingest()
    failed = {Path(path).name: reason for path, reason in summary.failed}
    assert "quote-comma.csv" in summary.added and "tabs.csv" in summary.added
    assert failed["quote-newline.csv"] == "the file holds no cells with text"
    assert "not a readable CSV file" in failed["huge-field.csv"]
    assert "Drug: Amifampridine; Dose: 10 mg three times a day." in (
        service.document_text("tabs.csv") or "")


def test_cli_shows_the_slide_a_citation_is_on(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Every slide title is a level-1 heading: the CLI names the slide, not the document's
    title twice."""
    from click.testing import CliRunner

    import app.service
    from app.cli import cli

    sources = tmp_path / "sources"
    sources.mkdir()
    samples.pptx(sources / "slides.pptx")
    monkeypatch.setattr(app.service, "default_embedder", lambda settings: HashingEmbedder())
    monkeypatch.setenv("CITEWISE_SOURCES_DIR", str(sources))
    monkeypatch.setenv("CITEWISE_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest"], catch_exceptions=False).exit_code == 0
    out = runner.invoke(cli, ["ask", "What is the dose of amifampridine?"],
                        catch_exceptions=False).output
    assert "Lambert-Eaton syndrome — Symptomatic treatment" in out
    assert "slides.pptx, characters" in out
