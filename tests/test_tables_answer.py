"""A question answered by citing one table row, in each format with tables (HTML,
Markdown, PDF): ingest with the fake embedder, ask in extractive mode, and the citation is
the row, exactly (`doc_text[start:end] == quote`); the source card shows the row."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Settings
from app.service import Citewise
from app.web.render import esc, sources_card
from tests.fakes import HashingEmbedder
from tests.test_tables_pdf import _pdf

INTRO = ("Lambert-Eaton myasthenic syndrome is an autoimmune disorder of the neuromuscular "
         "junction. Symptomatic treatment improves the release of acetylcholine.")
HEADER = ("Drug", "Adult dose", "Note")
TABLE = [("Amifampridine", "15 mg three times daily", "Check the ECG before starting."),
         ("Pyridostigmine", "60 mg four times daily", "Often added to amifampridine."),
         ("Prednisolone", "Tapered by response", "Used when symptoms persist.")]
ROW = ("Drug: Pyridostigmine; Adult dose: 60 mg four times daily; "
       "Note: Often added to amifampridine.")
QUESTION = "What is the adult dose of pyridostigmine?"


def _html() -> str:
    head = "".join(f"<th>{h}</th>" for h in HEADER)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in TABLE)
    return (f"<html><body><h1>LEMS treatment</h1><p>{INTRO}</p><table><thead><tr>{head}"
            f"</tr></thead><tbody>{body}</tbody></table></body></html>")


def _markdown() -> str:
    lines = ["| " + " | ".join(r) + " |" for r in [HEADER, *TABLE]]
    lines.insert(1, "|---|---|---|")
    return "# LEMS treatment\n\n" + INTRO + "\n\n" + "\n".join(lines) + "\n"


SOURCES = {"lems.html": _html, "lems.md": _markdown,
           "lems.pdf": lambda: _pdf([["LEMS treatment", INTRO, [HEADER, *TABLE]]])}


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_a_question_is_answered_by_citing_one_row(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "sources"
    folder.mkdir()
    content = SOURCES[name]()
    (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    # The fake embedder's cosines run lower than MiniLM's, for which the default threshold
    # is calibrated (0.39): the row scores 0.37 here, the next row 0.29.
    settings = Settings(sources_dir=folder, index_dir=tmp_path / "index",
                        abstain_threshold=0.3, _env_file=None)
    service = Citewise(settings, HashingEmbedder())
    summary = service.ingest()
    assert summary.added == [name] and not summary.failed

    answer = service.ask(QUESTION, mode="extractive")
    assert not answer.abstained
    assert answer.sentences[0].text == ROW  # the row leads the answer, whole
    cited = answer.citations[answer.sentences[0].citations[0] - 1]
    assert cited.quote == ROW and cited.doc_id == name
    doc_text = service.index.manifest.doc_text(name)
    assert doc_text is not None and doc_text[cited.start:cited.end] == ROW
    passage = cited.passage
    assert passage[cited.start - cited.passage_start:cited.end - cited.passage_start] == ROW
    if name.endswith(".pdf"):
        assert cited.page == 1
    # The other rows are their own sentences, not part of this one.
    assert "Amifampridine; " not in cited.quote and "Prednisolone" not in cited.quote

    card = sources_card(1, cited)
    assert f'<mark class="cw-quote">{esc(ROW)}</mark>' in card


def test_a_generated_sentence_is_checked_against_the_row_it_cites(tmp_path: Path) -> None:
    """Generative mode: the model is given the row as a numbered source, and its own
    sentence about the row is verified against it; one that changes the figure is not, and
    the answer falls back to the row itself."""
    from tests.fakes import generative, numbered_sources

    folder = tmp_path / "sources"
    folder.mkdir()
    (folder / "lems.md").write_text(_markdown())
    settings = Settings(sources_dir=folder, index_dir=tmp_path / "index",
                        abstain_threshold=0.3, _env_file=None)
    seen: list[list[str]] = []

    def reply(figure: str):
        def write(messages: list[dict]) -> str:
            sources = numbered_sources(messages)
            seen.append(sources)
            if not sources:
                return messages[-1]["content"]
            n = sources.index(ROW) + 1
            return f"The adult dose of pyridostigmine is {figure} four times daily [{n}]."
        return write

    service, _ = generative(settings, HashingEmbedder(), reply("60 mg"))
    answer = service.ask(QUESTION)
    assert ROW in seen[0]  # the row, whole, is one numbered source
    first = answer.sentences[0]
    assert first.supported is True and first.text.startswith("The adult dose")
    assert answer.citations[first.citations[0] - 1].quote == ROW

    service, _ = generative(settings, HashingEmbedder(), reply("90 mg"))
    wrong = service.ask(QUESTION)
    # Not supported (its figure is not the row's): the brief fallback, which is the row.
    assert "90 mg" not in " ".join(s.text for s in wrong.sentences)
    assert "could not be verified" in wrong.note
    assert [s.text for s in wrong.sentences] == [ROW]
