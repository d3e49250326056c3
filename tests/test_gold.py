"""Sanity checks for the gold evaluation set (eval/gold/questions.jsonl).

Stdlib only: no network, no imports from the project's packages.
"""

import json
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).parent.parent
GOLD = ROOT / "eval" / "gold" / "questions.jsonl"
SOURCES = ROOT / "data" / "sources"

KEYS = {"id", "question", "answer", "key_points", "sources", "answerable", "kind"}
KINDS = {
    "fact",
    "paraphrase",
    "multi-doc",
    "numeric",
    "false-premise",
    "unanswerable",
    "injection",
    "yes-no",
    "list",
    "why-how",
    "refers-to",
}
BOILERPLATE = (
    "Epainassist",
    "Recent Posts",
    "Related Posts",
    "Personalize",
    "Medical A.I.",
    "Last Modified",
    "Dr.Oracle assumes",
)


def _norm(text: str) -> str:
    return " ".join(text.split())


def load_lines() -> list[str]:
    return [line for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_questions() -> list[dict]:
    return [json.loads(line) for line in load_lines()]


def load_doc(name: str) -> str:
    return (SOURCES / name).read_text(encoding="utf-8")


def test_every_line_parses() -> None:
    for n, line in enumerate(load_lines(), 1):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:  # pragma: no cover - failure path
            raise AssertionError(f"line {n} is not valid JSON: {exc}") from exc
        assert isinstance(obj, dict), f"line {n} is not a JSON object"


def test_keys_and_types() -> None:
    for q in load_questions():
        qid = q.get("id")
        assert set(q) == KEYS, f"{qid}: keys {sorted(q)}"
        assert isinstance(q["id"], str) and q["id"], qid
        assert isinstance(q["question"], str) and q["question"].strip(), qid
        assert isinstance(q["answer"], str) and q["answer"].strip(), qid
        assert isinstance(q["answerable"], bool), qid
        assert isinstance(q["kind"], str), qid
        assert isinstance(q["key_points"], list), qid
        assert all(isinstance(k, str) and k.strip() for k in q["key_points"]), qid
        assert isinstance(q["sources"], list), qid
        for s in q["sources"]:
            assert isinstance(s, dict) and set(s) == {"doc", "quote"}, f"{qid}: {s}"
            assert isinstance(s["doc"], str) and s["doc"], qid
            assert isinstance(s["quote"], str) and s["quote"].strip(), qid


def test_kind_is_known() -> None:
    for q in load_questions():
        assert q["kind"] in KINDS, f"{q['id']}: unknown kind {q['kind']!r}"


def test_ids_unique() -> None:
    ids = [q["id"] for q in load_questions()]
    dupes = [i for i, c in Counter(ids).items() if c > 1]
    assert not dupes, f"duplicate ids: {dupes}"


def test_answerable_have_support_unanswerable_have_none() -> None:
    for q in load_questions():
        if q["answerable"]:
            assert len(q["sources"]) >= 1, f"{q['id']}: answerable without sources"
            assert len(q["key_points"]) >= 1, f"{q['id']}: answerable without key points"
        else:
            assert q["sources"] == [], f"{q['id']}: unanswerable with sources"
            assert q["key_points"] == [], f"{q['id']}: unanswerable with key points"
        if q["kind"] == "unanswerable":
            assert q["answerable"] is False, f"{q['id']}: kind unanswerable but answerable"


def test_quotes_are_verbatim() -> None:
    cache: dict[str, str] = {}
    for q in load_questions():
        for s in q["sources"]:
            path = SOURCES / s["doc"]
            assert path.is_file(), f"{q['id']}: missing source file {s['doc']}"
            if s["doc"] not in cache:
                cache[s["doc"]] = load_doc(s["doc"])
            text = cache[s["doc"]]
            assert s["quote"] in text, \
                f"{q['id']}: quote not verbatim in {s['doc']}: {s['quote']!r}"
            assert _norm(s["quote"]) in _norm(text), f"{q['id']}: quote not found normalised"


def test_no_boilerplate_in_quotes() -> None:
    for q in load_questions():
        for s in q["sources"]:
            for phrase in BOILERPLATE:
                assert phrase not in s["quote"], f"{q['id']}: quote contains {phrase!r}"


def test_counts() -> None:
    qs = load_questions()
    kinds = Counter(q["kind"] for q in qs)
    assert len(qs) >= 60, f"only {len(qs)} questions"
    assert kinds["paraphrase"] >= 15, kinds
    assert kinds["unanswerable"] >= 10, kinds
    assert kinds["false-premise"] >= 9, kinds
    assert kinds["yes-no"] >= 6, kinds
    assert kinds["list"] >= 5, kinds
    assert kinds["why-how"] >= 5, kinds
    assert kinds["refers-to"] >= 4, kinds
    missing = KINDS - set(kinds)
    assert not missing, f"kinds never used: {sorted(missing)}"


def test_yes_no_answers_open_with_yes_or_no() -> None:
    answers = {"yes": 0, "no": 0}
    for q in load_questions():
        if q["kind"] == "yes-no":
            first = q["answer"].split(maxsplit=1)[0].strip(".,:;").lower()
            assert first in answers, f"{q['id']}: yes-no answer opens with {first!r}"
            answers[first] += 1
    assert answers["yes"] >= 1 and answers["no"] >= 2, answers


def test_multi_doc_cite_two_documents() -> None:
    for q in load_questions():
        if q["kind"] == "multi-doc":
            docs = {s["doc"] for s in q["sources"]}
            assert len(docs) >= 2, f"{q['id']}: multi-doc question cites {docs}"


def test_required_question_present() -> None:
    wanted = "What causes paraneoplastic muscle weakness?"
    match = [q for q in load_questions() if q["question"] == wanted]
    assert match, "required question missing"
    assert "antibody-mediated autoimmunity" in match[0]["key_points"]
