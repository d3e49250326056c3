"""Abbreviations: found where defined, spelled out where used alone, kept in the manifest."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from index.lexical import BM25Index
from index.manifest import Manifest
from ingest.abbreviations import definitions, expand, used_in
from ingest.chunking import ChunkerSettings, chunk_document, chunk_sentences
from ingest.types import SourceDoc

DEFINING = ("Weakness arises in Lambert-Eaton myasthenic syndrome (LEMS), where antibodies "
            "against voltage-gated calcium channels (VGCCs) act, mostly in small cell lung "
            "cancer (SCLC).")


def test_definitions_follow_the_letters_of_the_long_form() -> None:
    assert dict(definitions(DEFINING)) == {
        "LEMS": "Lambert-Eaton myasthenic syndrome",
        "VGCCs": "voltage-gated calcium channels",
        "VGCC": "voltage-gated calcium channel",  # a plural defines its singular
        "SCLC": "small cell lung cancer",
    }


def test_only_the_text_just_before_the_brackets_is_read() -> None:
    long_text = "Some words (SW) here. " * 2000 + "Lambert-Eaton myasthenic syndrome (LEMS)"
    assert dict(definitions(long_text))["LEMS"] == "Lambert-Eaton myasthenic syndrome"


def test_brackets_that_define_nothing_are_ignored() -> None:
    text = ("In one series (n=12) the effect was small (p<0.05) and was seen in some "
            "patients (SOME) and (see above) in the brain scan (XYZ).")
    assert definitions(text) == ()


def test_expand_spells_out_the_first_use_only_where_the_long_form_is_missing() -> None:
    glossary = definitions(DEFINING)
    sentence = "Diagnosis of LEMS rests on anti-VGCC antibodies; LEMS is rare."
    assert expand(sentence, glossary) == (
        "Diagnosis of LEMS (Lambert-Eaton myasthenic syndrome) rests on anti-VGCC "
        "(voltage-gated calcium channel) antibodies; LEMS is rare.")
    assert expand(DEFINING, glossary) == DEFINING  # long forms already there
    overlapping = definitions("Mild behavioral impairment (MBI) is scored with the Mild "
                              "Behavioral Impairment Checklist (MBI-C).")
    assert expand("The MBI-C measures MBI.", overlapping) == (
        "The MBI-C (Mild Behavioral Impairment Checklist) measures MBI (Mild behavioral "
        "impairment).")
    assert used_in("LEMSX and VGCCs", glossary) == (
        ("VGCCs", "voltage-gated calcium channels"),)  # whole words only


def test_a_chunk_carries_the_abbreviations_defined_elsewhere_in_its_document() -> None:
    text = (DEFINING + "\n\n" + "Filler sentence about something else entirely. " * 12
            + "\n\nThe diagnosis of LEMS is generally made by electromyography.\n")
    doc = SourceDoc("d.txt", "/d.txt", "Doc", text)
    chunks = chunk_document(doc, lambda t: len(t.split()), ChunkerSettings(40, 0, 256))
    last = chunks[-1]
    assert "LEMS" in last.text and "Lambert" not in last.text
    assert last.glossary == (("LEMS", "Lambert-Eaton myasthenic syndrome"),)
    assert text[last.start:last.end] == last.text  # what citations quote is untouched
    assert "LEMS (Lambert-Eaton myasthenic syndrome)" in last.embed_text()
    sentence = chunk_sentences([last])[-1]
    assert sentence.text == "The diagnosis of LEMS is generally made by electromyography."
    assert sentence.embed_text.startswith("The diagnosis of LEMS (Lambert-Eaton")


def test_manifest_keeps_the_glossary_and_upgrades_old_files(tmp_path: Path) -> None:
    old = sqlite3.connect(tmp_path / Manifest.FILENAME)
    old.executescript("""
        CREATE TABLE chunks (id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, seq INTEGER NOT NULL,
            title TEXT NOT NULL, heading_path TEXT NOT NULL, start INTEGER NOT NULL,
            "end" INTEGER NOT NULL, text TEXT NOT NULL);""")
    old.close()
    manifest = Manifest(tmp_path)  # adds the column
    text = DEFINING + "\n\nLEMS again.\n"
    doc = SourceDoc("d.txt", "/d.txt", "Doc", text)
    chunks = chunk_document(doc, lambda t: len(t.split()), ChunkerSettings(20, 0, 256))
    manifest.put_doc(doc, "h", chunks)
    stored = manifest.get_chunks([c.id for c in chunks])
    assert [stored[c.id] for c in chunks] == chunks
    assert any(c.glossary for c in chunks)
    manifest.close()


def test_the_long_form_finds_a_passage_that_uses_only_the_abbreviation() -> None:
    text = (DEFINING + "\n\n" + "Filler sentence about something else entirely. " * 12
            + "\n\nThe diagnosis of LEMS is generally made by electromyography.\n")
    doc = SourceDoc("d.txt", "/d.txt", "Doc", text)
    chunks = chunk_document(doc, lambda t: len(t.split()), ChunkerSettings(40, 0, 256))
    bm25 = BM25Index.build([c.id for c in chunks], [c.embed_text() for c in chunks])
    found = [cid for cid, _ in bm25.search("Lambert-Eaton myasthenic syndrome", 5)]
    assert chunks[-1].id in found
