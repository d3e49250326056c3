"""Tests for app.answer.support: the deterministic support checker and its labelled pairs."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from app.answer.support import (
    SupportChecker,
    SupportResult,
    key_terms,
    with_acronyms,
    without_attribution,
)
from eval.pairs import (
    GENERATED_PAIRS,
    LabelledPair,
    balanced_accuracy,
    build_labelled_pairs,
    load_labelled_pairs,
)

SOURCES = sorted((Path(__file__).resolve().parents[1] / "data" / "sources").glob("*.txt"))

PASSAGE = (
    "Paraneoplastic syndrome is caused by hormones secreted by tumour cells. "
    "People with cancer of the lungs, ovaries and breasts are more at risk of the syndrome. "
    "In a study, 50% of the patients with ovarian epithelial neoplasm also had peripheral "
    "neuropathy2. LEMS is characterized by antibodies against voltage-gated calcium channels, "
    "which decrease calcium influx into the nerve terminal [3]. Although there was no "
    "spontaneous recovery of neuropathy, its severity reduced with treatment of the cancer. "
    "Autoantibodies are absent in some patients with seronegative sensory neuropathy. "
    "Within 2 years of a cancer diagnosis, a new neuropathy may be paraneoplastic 4."
)

CHECKER = SupportChecker()


def supported(claim: str, passage: str = PASSAGE, checker: SupportChecker = CHECKER) -> bool:
    return checker.check(claim, passage).supported


# ----------------------------------------------------------------------------- supported


@pytest.mark.parametrize(
    "claim",
    [
        "Paraneoplastic syndrome is caused by hormones secreted by tumour cells.",
        # footnote digit and [n] marker removed, or kept
        "In a study, 50% of the patients with ovarian epithelial neoplasm also had peripheral "
        "neuropathy.",
        "LEMS is characterized by antibodies against voltage-gated calcium channels, which "
        "decrease calcium influx into the nerve terminal.",
        "LEMS is characterized by antibodies against voltage-gated calcium channels [1].",
        "Within 2 years of a cancer diagnosis, a new neuropathy may be paraneoplastic.",
        "Although there was no spontaneous recovery of neuropathy, its severity reduced with "
        "treatment of the cancer.",
        "Autoantibodies are absent in some patients with seronegative sensory neuropathy.",
    ],
)
def test_verbatim_and_near_verbatim_supported(claim: str) -> None:
    result = CHECKER.check(claim, PASSAGE)
    assert isinstance(result, SupportResult)
    assert result.supported, result.reasons
    assert result.score >= CHECKER.threshold
    assert result.best_source_sentence


def test_light_paraphrase_supported() -> None:
    assert supported("In LEMS, antibodies target voltage-gated calcium channels.")
    assert supported(
        "Peripheral neuropathy was found in 50% of patients with ovarian epithelial neoplasm."
    )
    assert supported("Hormones secreted by tumour cells cause paraneoplastic syndrome.")


# ----------------------------------------------------------------------------- perturbations


@pytest.mark.parametrize(
    ("kind", "claim"),
    [
        (
            "number",
            "In a study, 60% of the patients with ovarian epithelial neoplasm also had "
            "peripheral neuropathy.",
        ),
        ("number", "Within 3 years of a cancer diagnosis, a new neuropathy may be paraneoplastic."),
        ("negation", "Paraneoplastic syndrome is not caused by hormones secreted by tumour cells."),
        (
            "negation",
            "Although there was spontaneous recovery of neuropathy, its severity reduced "
            "with treatment of the cancer.",
        ),
        (
            "negation",
            "Autoantibodies are present in some patients with seronegative sensory neuropathy.",
        ),
        (
            "negation",
            "LEMS is never characterized by antibodies against voltage-gated calcium channels.",
        ),
        (
            "entity",
            "In a study, 50% of the patients with breast epithelial neoplasm also had "
            "peripheral neuropathy.",
        ),
        (
            "entity",
            "LEMS is characterized by antibodies against voltage-gated potassium channels, "
            "which decrease calcium influx into the nerve terminal.",
        ),
        ("entity", "Paraneoplastic syndrome is caused by hormones secreted by thymoma cells."),
        (
            "unrelated",
            "Metformin lowers blood glucose in type 2 diabetes by reducing hepatic glucose output.",
        ),
        ("unrelated", "The condition was dramatically improved by administering cyclophosphamide."),
    ],
)
def test_perturbations_unsupported(kind: str, claim: str) -> None:
    result = CHECKER.check(claim, PASSAGE)
    assert not result.supported, (kind, result)
    assert result.reasons


def test_reasons_name_the_failure() -> None:
    r = CHECKER.check(
        "Within 3 years of a cancer diagnosis, a new neuropathy may be paraneoplastic.", PASSAGE
    )
    assert any("number" in x and "3" in x for x in r.reasons)
    r = CHECKER.check(
        "Paraneoplastic syndrome is not caused by hormones secreted by tumour cells.", PASSAGE
    )
    assert any("negation" in x for x in r.reasons)


def test_entity_borrowed_from_neighbour_sentence_unsupported() -> None:
    # "breasts" occurs in the passage, but not in the sentence about the study
    claim = (
        "In a study, 50% of the patients with breasts epithelial neoplasm also had "
        "peripheral neuropathy."
    )
    assert not supported(claim)


def test_merge_of_two_adjacent_sentences_supported() -> None:
    claim = (
        "LEMS antibodies decrease calcium influx into the nerve terminal, and there was no "
        "spontaneous recovery of neuropathy."
    )
    assert supported(claim)


def test_a_sentence_that_refers_back_is_read_with_the_one_before_it() -> None:
    passage = ("This paraneoplastic neuromyopathy was non-responsive with steroidal therapy. "
               "The condition was dramatically improved by administering cyclophosphamide. "
               "Breast cancer was treated with tamoxifen.")
    checker = SupportChecker()
    assert checker.check("The neuromyopathy was improved by cyclophosphamide.", passage).supported
    # without the sentence that refers back, borrowing a neighbour's term still fails
    plain = passage.replace("The condition was", "Later, it was")
    assert not checker.check("The neuromyopathy was improved by cyclophosphamide.",
                             plain).supported
    assert not checker.check("The neuromyopathy was treated with tamoxifen.", passage).supported


SICCA = ("In one case, neuropathy and sicca syndrome was found in one patient which was later "
         "on diagnosed with small cell bronchial carcinoma. This paraneoplastic neuromyopathy "
         "was found to be non-responsive with steroidal therapy. The condition was dramatically "
         "improved by administering cyclophosphamide6.")


def test_a_fact_moved_to_the_subject_of_the_sentence_before_is_unsupported() -> None:
    checker = SupportChecker()
    # the steroid sentence is about the neuromyopathy, not the carcinoma of the one before:
    # the two words of each side are there, but the pair is not about the claim's subject
    moved = checker.check("The small cell bronchial carcinoma was improved by steroidal "
                          "therapy.", SICCA)
    assert not moved.supported, moved
    assert not checker.check("Small cell bronchial carcinoma was found to be non-responsive "
                             "with steroidal therapy.", SICCA).supported
    # the same pair still supports what it says of its own subject
    assert checker.check("The neuropathy and sicca syndrome was found to be non-responsive "
                         "with steroidal therapy.", SICCA).supported
    assert checker.check("The neuromyopathy was improved by cyclophosphamide.", SICCA).supported
    # a first sentence with no auxiliary verb to find its subject by: the whole of it is
    # what the second refers back to (a model sentence the rule rejected at first)
    passage = ("The bigger picture, paraneoplastic neurological syndrome, leads to varied "
               "symptoms related to the nervous system. This leads to encephalitis in which "
               "the brain gets inflamed, ataxia, myoclonus, psychiatric disturbances and "
               "myasthenia gravis.")
    assert checker.check("Paraneoplastic neurological syndrome can lead to encephalitis, "
                         "ataxia, myoclonus, psychiatric disturbances, and myasthenia gravis.",
                         passage).supported
    # the auxiliary of a relative clause ("that ... can cause") does not make the subject
    assert checker.check("The inflammation of the brain that paraneoplastic neurological "
                         "syndrome can cause is encephalitis.", passage).supported


def test_a_claim_about_another_subject_is_unsupported() -> None:
    passage = ("Symptoms may progress at a very rapid rate or may manifest themselves slowly. "
               "Patients with cancer do not have significant incidences of paraneoplastic "
               "neuromyopathy.")
    checker = SupportChecker()
    assert not checker.check("Symptoms do not have significant incidences of paraneoplastic "
                             "neuromyopathy.", passage).supported
    assert checker.check("Patients with cancer do not have significant incidences of "
                         "paraneoplastic neuromyopathy.", passage).supported


def test_key_terms() -> None:
    keys = key_terms("LEMS in small cell lung cancer affects calcium channels in 2% of Patients.")
    assert {"lem", "lung", "cancer", "calcium", "2%", "patient"} <= keys
    assert "channel" not in keys and "small" not in keys


def test_supports_convenience() -> None:
    passages = [
        "Paraneoplastic syndrome is caused by hormones secreted by tumour cells.",
        "LEMS is characterized by antibodies against voltage-gated calcium channels.",
    ]
    assert CHECKER.supports(
        "LEMS is characterized by antibodies against voltage-gated calcium channels.", passages
    )
    assert not CHECKER.supports(
        "LEMS is characterized by antibodies against voltage-gated sodium channels.", passages
    )
    assert not CHECKER.supports("Paraneoplastic syndrome is caused by hormones.", [])


def test_empty_claim_unsupported() -> None:
    assert not supported("[1]")
    assert not supported("It is.")


# ----------------------------------------------------------------------------- embeddings


def hashing_embed(texts: list[str]) -> np.ndarray:
    """Deterministic bag-of-words embedding, L2-normalised rows (stands in for a model)."""
    out = np.zeros((len(texts), 256))
    for i, t in enumerate(texts):
        for w in re.findall(r"[a-z0-9]+", t.lower()):
            out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % 256] += 1.0
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1.0, norms)


def test_checker_with_embeddings() -> None:
    checker = SupportChecker(embed=hashing_embed)
    ok = "Paraneoplastic syndrome is caused by hormones secreted by tumour cells."
    assert supported(ok, checker=checker)
    assert checker.check(ok, PASSAGE).score == pytest.approx(1.0)
    assert not supported(
        "Paraneoplastic syndrome is not caused by hormones secreted by tumour cells.",
        checker=checker,
    )
    assert not supported(
        "Within 3 years of a cancer diagnosis, a new neuropathy may be paraneoplastic.",
        checker=checker,
    )
    assert not supported("Metformin lowers blood glucose in type 2 diabetes.", checker=checker)


# ----------------------------------------------------------------------------- labelled pairs

INLINE_SOURCES = [
    PASSAGE,
    "Lambert-Eaton myasthenic syndrome occurs in about 3% of patients with small cell lung "
    "cancer. Treatment of paraneoplastic muscle weakness focuses on the underlying malignancy "
    "and on immunosuppressive therapies. Symptoms do not always improve after the tumour is "
    "removed. Paraneoplastic necrotizing myopathy is a rare entity with rapidly progressive "
    "proximal muscle weakness. Neuromyotonia is associated with antibodies against "
    "voltage-gated potassium channels in patients with thymoma.",
]


def test_build_labelled_pairs_kinds_labels_and_determinism() -> None:
    pairs = build_labelled_pairs(INLINE_SOURCES, seed=7)
    assert pairs == build_labelled_pairs(INLINE_SOURCES, seed=7)
    kinds = Counter(p.kind for p in pairs)
    assert set(kinds) == {"verbatim", "number", "negation", "entity", "cross", "unrelated"}
    for p in pairs:
        assert isinstance(p, LabelledPair)
        assert p.supported == (p.kind == "verbatim")
        if p.kind == "verbatim":
            assert p.claim.rstrip(".") in p.passage.replace("neuropathy2.", "neuropathy.")
        else:
            assert p.claim not in p.passage
    assert balanced_accuracy(CHECKER, pairs) >= 0.85


class _AlwaysSupported:
    def check(self, sentence: str, passage: str) -> SupportResult:
        return SupportResult(True, 1.0, passage, ())


def test_balanced_accuracy_of_trivial_checker_is_half() -> None:
    pairs = build_labelled_pairs(INLINE_SOURCES, seed=0)
    assert balanced_accuracy(_AlwaysSupported(), pairs) == 0.5
    with pytest.raises(ValueError):
        balanced_accuracy(CHECKER, [p for p in pairs if p.supported])


@pytest.mark.skipif(len(SOURCES) < 2, reason="needs the two source files in data/sources")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_balanced_accuracy_on_real_sources(seed: int) -> None:
    texts = [p.read_text(encoding="utf-8") for p in SOURCES]
    pairs = build_labelled_pairs(texts, seed=seed)
    kinds = Counter(p.kind for p in pairs)
    assert kinds["verbatim"] >= 30 and kinds["negation"] >= 20 and kinds["entity"] >= 10
    assert balanced_accuracy(SupportChecker(embed=None), pairs) >= 0.85
    # every verbatim pair is supported, and each perturbation kind is mostly caught
    for kind in kinds:
        subset = [p for p in pairs if p.kind == kind]
        correct = sum(CHECKER.check(p.claim, p.passage).supported == p.supported for p in subset)
        assert correct / len(subset) >= (1.0 if kind == "verbatim" else 0.8), kind


# ---------------------------------------------------------------- model sentences, by hand


def test_attribution_to_the_sources_is_not_judged() -> None:
    assert without_attribution("According to both articles, LEMS is rare.") == "LEMS is rare."
    assert without_attribution("The Dr.Oracle article states that LEMS is rare.") == \
        "LEMS is rare."
    assert without_attribution("Yes, according to the sources, it helps.") == \
        "Yes, according to the sources, it helps."
    assert without_attribution("In thymoma, the immune system plays a role.") == \
        "In thymoma, the immune system plays a role."
    claim = "Within 2 years of a cancer diagnosis, a new neuropathy may be paraneoplastic."
    assert supported("According to the second article, " + claim[0].lower() + claim[1:])
    # a named source is a capitalised key term: judged, it sank this one (score 0.07)
    source = "The etiology of paraneoplastic muscle weakness is complex and multifactorial."
    assert supported("The Dr.Oracle article states that the etiology of paraneoplastic muscle "
                     "weakness is complex and multifactorial.", source)
    # the attribution goes, not the check: a changed figure after it still fails
    assert not supported("According to the sources, within 3 years of a cancer diagnosis, "
                         "a new neuropathy may be paraneoplastic.")


def test_an_acronym_and_its_spelled_out_name_are_one_term() -> None:
    passage = ("LEMS is characterized by antibodies against voltage-gated calcium channels. "
               "Lambert-Eaton myasthenic syndrome is diagnosed by electromyography.")
    only_acronym = passage.split(". ")[0] + "."
    assert supported("Lambert-Eaton myasthenic syndrome is characterized by antibodies "
                     "against voltage-gated calcium channels.", only_acronym)
    assert supported("LEMS is diagnosed by electromyography.", passage)
    assert "LEMS (Lambert-Eaton myasthenic syndrome)" in with_acronyms(
        passage, "Lambert-Eaton myasthenic syndrome is characterized by ...")
    # a sentence that defines an acronym supports itself (the name is not added twice)
    defined = ("Diagnosis of leptomeningeal metastases from Non-Small Cell Lung Cancer (NSCLC) "
               "is usually based on CSF cytology.")
    assert supported(defined, defined)
    for sentence in ("Lobectomy for non-small-cell lung cancer (NSCLC) is an option for early "
                     "stage NSCLC.", "The roles of most circRNAs in NSCLC (non-small cell lung "
                     "cancer) remain unknown."):
        assert supported(sentence, sentence)
    assert supported("Diagnosis of leptomeningeal metastases from NSCLC is usually based on "
                     "CSF cytology.", defined)
    # a name whose initials do not spell the acronym stays a missing term
    assert not supported("Isaacs syndrome is characterized by antibodies against "
                         "voltage-gated calcium channels.", passage)


def test_initials_across_stop_words_or_brackets_are_not_a_name() -> None:
    """Found by checking 5,000 random pairs of distractor abstracts: "from frog skeletal"
    spelled FFS and "muscle (Rana" MR, so a prostate cancer abstract supported this."""
    claim = "Parvalbumins from frog skeletal muscle (Rana temporaria L.)."
    passage = ("Follow up included multiparametric MRI and MR-guided biopsies. The primary "
               "outcome was failure-free survival (FFS). Parvalbumins were not measured.")
    assert with_acronyms(passage, claim) == passage
    assert not supported(claim, passage)
    assert "MR (magnetic resonance)" in with_acronyms(passage, "A magnetic resonance scan.")


def test_generated_pairs_are_well_formed_and_mostly_judged_right() -> None:
    rows = [json.loads(line) for line in GENERATED_PAIRS.read_text().splitlines()]
    assert len({r["id"] for r in rows}) == len(rows) >= 120
    assert {r["corpus"] for r in rows} == {"default", "distractors"}
    assert {r["supported"] for r in rows} == {True, False}
    pairs = load_labelled_pairs()
    assert all(p.kind == "generated" and p.claim and p.passage for p in pairs)
    # measured 0.932 (README, "Evaluation"): a floor, so that a change to the checker that
    # makes it worse on real model sentences is seen
    assert balanced_accuracy(CHECKER, pairs) >= 0.9


LIST_PASSAGE = ("Paraneoplastic muscle weakness has been associated with various cancers and "
                "syndromes, including:\n\n• Small-cell lung cancer 6, 2\n• Adenocarcinoma of the "
                "lung 4\n• Lambert-Eaton myasthenic syndrome 2\n• Stiffman syndrome 2")


def test_a_lead_in_and_its_bullet_items_support_a_claim_that_lists_them() -> None:
    from app.answer.support import SupportChecker

    checker = SupportChecker()
    listed = ("Paraneoplastic muscle weakness has been associated with various cancers and "
              "syndromes, including: Small-cell lung cancer; Adenocarcinoma of the lung; "
              "Lambert-Eaton myasthenic syndrome; Stiffman syndrome.")
    assert checker.check(listed, LIST_PASSAGE).supported
    invented = listed.replace("Stiffman syndrome", "Guillain-Barre syndrome")
    assert not checker.check(invented, LIST_PASSAGE).supported
    # without the bullets the lines are separate statements, not a list
    flat = LIST_PASSAGE.replace("• ", "").replace("including:", "including.")
    assert not checker.check(listed, flat).supported
