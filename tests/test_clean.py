"""Boilerplate cleaning of the default sources and of generic pages.

No network and no model: tokens are counted with a fake counter (words + 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.clean import clean, repeated_lines
from ingest.loaders import Block
from tests.ingest_samples import (
    BOILERPLATE_PHRASES,
    DEFAULT_FILES,
    DISCLAIMER_START,
    SHORT_BOILERPLATE_LINES,
    body_lines,
    clean_text,
    collapse,
    source_doc,
)

# The default sources: all chrome gone, all article text kept.


@pytest.mark.parametrize("name", DEFAULT_FILES)
def test_default_source_boilerplate_removed(name: str) -> None:
    text = source_doc(name).text
    left = [phrase for phrase in BOILERPLATE_PHRASES if phrase in text]
    left += [line for line in SHORT_BOILERPLATE_LINES if line in text.splitlines()]
    assert DISCLAIMER_START not in text
    assert left == []


@pytest.mark.parametrize("name", DEFAULT_FILES)
def test_default_source_body_kept(name: str) -> None:
    text = collapse(source_doc(name).text)
    lines = body_lines(name)
    assert len(lines) >= 10
    assert [line for line in lines if line not in text] == []


@pytest.mark.parametrize(("name", "title"), [
    (DEFAULT_FILES[0], "What Is Paraneoplastic Neuromyopathy And Neuropathy?"),
    (DEFAULT_FILES[1],
     "What is the etiology of paraneoplastic (related to cancer) muscle weakness?"),
])
def test_default_source_title(name: str, title: str) -> None:
    doc = source_doc(name)
    assert doc.title == title
    assert doc.text.startswith(title)
    assert doc.headings[0] == type(doc.headings[0])(title, 1, 0, len(title))


@pytest.mark.parametrize(("name", "heading"), [
    (DEFAULT_FILES[0], "Paraneoplastic Syndrome"),
    (DEFAULT_FILES[1], "From the Guidelines"),
    (DEFAULT_FILES[1], "Key Factors Contributing to Paraneoplastic Muscle Weakness"),
])
def test_default_source_headings(name: str, heading: str) -> None:
    assert heading in [h.text for h in source_doc(name).headings]


@pytest.mark.parametrize("name", DEFAULT_FILES)
def test_heading_spans_match_text(name: str) -> None:
    doc = source_doc(name)
    assert doc.headings
    for h in doc.headings:
        assert doc.text[h.start:h.end] == h.text
        assert h.start == 0 or doc.text[h.start - 2:h.start] == "\n\n"


@pytest.mark.parametrize("name", DEFAULT_FILES)
def test_removed_lines_recorded(name: str) -> None:
    removed = " ".join(source_doc(name).removed_lines)
    assert "Team PainAssist" in removed or "Medical Advisory Board" in removed


# General rules on a made-up site (no site-specific strings in the code).

MADE_UP_SITE = """Understanding Iron Deficiency Anaemia

Subscribe to our newsletter

Share this article

Overview

Iron deficiency anaemia occurs when the body lacks enough iron to make haemoglobin. It is the most common nutritional deficiency worldwide.

Treatment

Oral iron is first-line therapy for most patients. Intravenous iron is used when oral iron fails or is not tolerated.

Disclaimer

The content on this site is provided for general information only. Always consult a qualified professional before acting on it.

© 2024 HealthSite. All rights reserved.

Related Articles
"""  # noqa: E501


def test_generic_boilerplate_removed_body_kept(tmp_path: Path) -> None:
    doc = clean_text(tmp_path, MADE_UP_SITE)
    for gone in ["Subscribe", "newsletter", "Share this article", "Disclaimer",
                 "general information only", "consult a qualified", "©", "All rights reserved",
                 "Related Articles"]:
        assert gone not in doc.text, gone
    for kept in ["Iron deficiency anaemia occurs when the body lacks enough iron",
                 "It is the most common nutritional deficiency worldwide.",
                 "Oral iron is first-line therapy for most patients.",
                 "Intravenous iron is used when oral iron fails or is not tolerated."]:
        assert kept in doc.text, kept
    assert doc.title == "Understanding Iron Deficiency Anaemia"
    assert [h.text for h in doc.headings] == [doc.title, "Overview", "Treatment"]


@pytest.mark.parametrize(("line", "repeated"), [
    ("Share this article", set()),
    ("Site wide banner", {"site wide banner"}),
])
def test_body_after_heading_like_boilerplate_kept(line: str, repeated: set[str]) -> None:
    body = "Iron deficiency is common. It causes fatigue and pallor."
    blocks = [Block("Iron Deficiency"), Block(line), Block(body)]
    doc = clean("x.txt", "x.txt", blocks, repeated=repeated)
    assert line not in doc.text
    assert body in doc.text


def test_paragraph_with_one_meta_sentence_kept(tmp_path: Path) -> None:
    para = ("Oral iron is first-line therapy. Intravenous iron is used when oral iron fails. "
            "Patients should not stop treatment without medical advice. Ferritin is rechecked "
            "after three months. Transfusion is reserved for severe anaemia.")
    doc = clean_text(tmp_path, f"Iron Therapy\n\n{para}\n")
    assert para in doc.text


def test_meta_paragraph_dropped(tmp_path: Path) -> None:
    doc = clean_text(tmp_path, "Iron Therapy\n\nOral iron is first-line therapy.\n\n"
                     "This page does not provide medical advice.\n")
    assert "medical advice" not in doc.text
    assert "Oral iron is first-line therapy." in doc.text


def test_country_us_is_not_reader_address(tmp_path: Path) -> None:
    para = "Lyme disease is common in the US. Ticks transmit the bacterium."
    doc = clean_text(tmp_path, f"Lyme Disease\n\n{para}\n")
    assert para in doc.text


def test_repeated_lines() -> None:
    def doc(*lines: str) -> list[Block]:
        return [Block(line) for line in lines]

    docs = [
        doc("Sign up for updates!", "Body one.", "Only here once"),
        doc("Sign up for updates", "Body two."),
        doc("SIGN UP FOR UPDATES", "Body three."),
        doc("Body four."),
    ]
    found = repeated_lines(docs)
    assert "sign up for updates" in found
    assert "only here once" not in found
    assert not any("body" in key for key in found)


def test_repeated_lines_removed_by_clean(tmp_path: Path) -> None:
    blocks = [Block("Lupus Nephritis"), Block("Site wide banner"), Block("Overview"),
              Block("Lupus nephritis is kidney inflammation caused by lupus.")]
    doc = clean("x.txt", "x.txt", blocks, repeated={"site wide banner"})
    assert "banner" not in doc.text
    assert "Lupus nephritis is kidney inflammation caused by lupus." in doc.text


# ---------------------------------------------------------------------------------------------
