"""The one text module (`ingest.text`): tokens, stems, numbers, sentences, citation markers."""

from __future__ import annotations

import re

import pytest

from ingest.text import (
    CITATION_MARKER,
    citation_numbers,
    content_words,
    normalise,
    numbers,
    search_words,
    split_sentences,
    stem,
    strip_citation_markers,
)


def test_normalise_quotes_dashes_whitespace() -> None:
    s = "\u201cLambert\u2013Eaton\u201d  \n\t syndrome\u2019s  RISK"
    assert normalise(s) == '"lambert-eaton" syndrome\'s risk'


def test_content_words_tokens_stop_words_and_stems() -> None:
    words = content_words("The prevalence of LEMS in small-cell lung cancer is 1.6% or 50 %.")
    assert words == ["prevalenc", "lem", "small", "cell", "lung", "cancer", "1.6%", "50%"]
    # footnote digit glued to a word is dropped; negations are kept
    assert content_words("It does not follow a diagnosis1.") == ["not", "follow", "diagnosis"]
    assert content_words("They don't respond") == ["not", "respond"]


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("therapies", "therapy"),
        ("reflexes", "reflex"),
        ("patients", "patient"),
        ("diagnosis", "diagnosis"),
        ("virus", "virus"),
        ("loss", "loss"),
        ("classes", "class"),
        ("developing", "develop"),
        ("rapidly", "rapid"),
        ("cause", "caus"),
        ("caused", "caus"),
        ("causes", "caus"),
        ("causing", "caus"),
        ("lung", "lung"),
    ],
)
def test_stem(word: str, expected: str) -> None:
    assert stem(word) == expected


@pytest.mark.parametrize(("british", "american"), [
    ("tumours", "tumors"), ("behaviour", "behavior"), ("haemorrhage", "hemorrhage"),
    ("leukaemia", "leukemia"), ("paediatric", "pediatric"), ("oedema", "edema"),
    ("oesophagus", "esophagus"), ("diarrhoea", "diarrhea"), ("characterised", "characterized"),
    ("analysing", "analyzing"), ("organisation", "organization"),
])
def test_british_and_american_spellings_meet(british: str, american: str) -> None:
    assert content_words(british) == content_words(american)


@pytest.mark.parametrize("word", ["hour", "four", "disease", "crisis", "aerobic", "paralysis",
                                  "poem", "raise"])
def test_words_that_only_look_british_are_left_as_they_are(word: str) -> None:
    from ingest.text import american

    assert american(word) == word


def test_numbers_units_percent_and_footnotes() -> None:
    text = (
        "The prevalence is 1% to 1.6% and 50 % had it within 2 years (a 2-year window); "
        "dose 5mg/kg, 1,000 cases, 50 percent. See diagnosis1. and neuropathy2. CD4 B12 [2] [1, 3]"
    )
    assert numbers(text) == {"1%", "1.6%", "50%", "2 year", "5 mg/kg", "1000"}
    assert numbers("no numbers here") == set()


def test_strip_citation_markers() -> None:
    assert strip_citation_markers("seen in myasthenia gravis 1.") == "seen in myasthenia gravis."
    assert strip_citation_markers("Small-cell lung cancer 6, 2") == "Small-cell lung cancer"
    assert (
        strip_citation_markers("relative to cancer diagnosis1.") == "relative to cancer diagnosis."
    )
    assert strip_citation_markers("It is rare [2].") == "It is rare."
    assert strip_citation_markers("It is rare [1, 3].") == "It is rare."


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


def test_split_sentences_abbreviations_decimals_and_lines() -> None:
    text = (
        "Dr. Smith saw 1.6% of cases, e.g. in SCLC vs. NSCLC. It is rare (i.e. under 2%). "
        "Next one!\n  \u2022 Bullet line without a stop\nHeading\n\nLast sentence? Yes."
    )
    assert _sentences(text) == [
        "Dr. Smith saw 1.6% of cases, e.g. in SCLC vs. NSCLC.",
        "It is rare (i.e. under 2%).",
        "Next one!",
        "Bullet line without a stop",
        "Heading",
        "Last sentence?",
        "Yes.",
    ]


def test_split_sentences_spans_index_the_text() -> None:
    text = "  First one. Second one.\nThird"
    spans = split_sentences(text)
    assert spans == [(2, 12), (13, 24), (25, 30)]


def test_markers_with_any_dash_are_one_rule() -> None:
    # Each of these once had its own regex; the en-dash marker survived strip_citation_markers.
    assert strip_citation_markers("rare [1–3].") == "rare."
    assert strip_citation_markers("rare [1—3] and common [2].") == "rare and common."
    assert citation_numbers("rare [1–3], common [2; 5]") == [1, 2, 3, 2, 5]
    assert CITATION_MARKER.sub("", "LEMS is rare [1, 2].") == "LEMS is rare."


def test_search_words_are_content_words_without_negations() -> None:
    assert "not" in content_words("It does not respond")
    assert "not" not in search_words("It does not respond")
    assert search_words("The Causes of weakness") == ["caus", "weakness"]


def test_one_stop_list_and_marker_rule_in_the_tree() -> None:
    """No module but ingest/text.py defines a stop list, a stemmer or a marker regex."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    home = root / "ingest" / "text.py"
    defines = re.compile(r"^(?:STOP_WORDS\s*=|def stem\(|def tokenize\(|_?MARKERS?(?:_RE)?\s*=)",
                         re.MULTILINE)
    marker = re.compile(r"\\\[\(?\\d\+")  # a regex source that matches "[" then digits
    offenders = []
    for package in ("ingest", "index", "app", "eval"):
        for path in (root / package).rglob("*.py"):
            if path == home:
                continue
            source = path.read_text(encoding="utf-8")
            if defines.search(source) or marker.search(source):
                offenders.append(str(path.relative_to(root)))
    assert offenders == []
