"""Every regex of the cleaning and splitting code, found by reading the source (a new one
without a worst case fails the test), is run on long runs of each character it can loop on,
each call within a generous budget in a child process: a super-linear regex takes minutes
on these inputs, a linear one milliseconds. No test asserts a time: the budget only stops a
hang."""


from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from ingest.errors import LoadError
from ingest.worker import Worker

pytestmark = pytest.mark.timeout(900)


def regex_job(source: str, flags: int, head: str, unit: str, count: int, tail: str) -> int:
    """How many matches `finditer` finds in head + unit * count + tail (finditer tries every
    start position: the most work any use of the pattern can make)."""
    pattern = re.compile(source, flags)
    return sum(1 for _ in pattern.finditer(head + unit * count + tail))


# ---------------------------------------------------------------------------------------------
# 3. Every regex of the cleaning and splitting code, on its worst input
# ---------------------------------------------------------------------------------------------
REGEX_MODULES = ["ingest.clean", "ingest.sentences", "ingest.loaders", "ingest.abbreviations",
                 "ingest.chunking", "ingest.html_text", "ingest.markdown_text", "ingest.tables"]
_RE_CALLS = {"compile", "search", "match", "fullmatch", "sub", "subn", "split", "findall",
             "finditer"}
# Regexes built at run time inside a function: an instance of each, to check as the rest.
DYNAMIC = {
    ("ingest.abbreviations", "_uses"): [rf"(?<![A-Za-z0-9]){re.escape('MBI-C')}(?![A-Za-z0-9])"],
}
RUN = 100_000  # characters: quadratic work on this is 10^10 steps, minutes; linear, ms
REGEX_BUDGET = 10.0
# What some patterns loop on beyond runs of their own characters: (head, unit, tail)
EXTRA = [("", "reviewed by the ", "x"), ("", "written by ", "."), ("", "Dr. X ", ""),
         ("", "e.g. A ", ""), ("(", "AB", ")"), ("", "(AB) ", ""), ("<a ", "x='", ""),
         ("<a ", 'x="y" ', ""), ("", "<a", ""), ("", "<!--", ""), ("", "</", ""),
         ("", "- ", "x"), ("", "1. ", "x"), ("", "\n \t", "x"), ("", ". \"", "a"),
         ("", "you ", ""), ("", "a.", "!"), ("", "MBI-", "C")]


def regexes() -> tuple[dict[str, re.Pattern], list[str]]:
    """Every regex in REGEX_MODULES: compiled at module level (any form), or given as a
    literal to a `re` function; and the call sites building one at run time that DYNAMIC
    does not cover."""
    found: dict[str, re.Pattern] = {}
    uncovered: list[str] = []
    for name in REGEX_MODULES:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            values = value.values() if isinstance(value, dict) else [value]
            for i, v in enumerate(values):
                if isinstance(v, re.Pattern):
                    found[f"{name}.{attr}" + (f"[{i}]" if isinstance(value, dict) else "")] = v
        sources = {p.pattern for p in found.values()}
        tree = ast.parse(Path(module.__file__).read_text())
        for function in [tree, *ast.walk(tree)]:
            if not isinstance(function, ast.Module | ast.FunctionDef):
                continue
            body = function.body if isinstance(function, ast.FunctionDef) else [
                n for n in function.body if not isinstance(n, ast.FunctionDef | ast.ClassDef)]
            for node in (n for stmt in body for n in ast.walk(stmt)):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and isinstance(node.func.value, ast.Name)
                        and node.func.value.id == "re" and node.func.attr in _RE_CALLS):
                    continue
                arg = node.args[0] if node.args else None
                where = f"{name}:{node.lineno}"
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    if arg.value not in sources:
                        found[where] = re.compile(arg.value, _flags(node))
                elif isinstance(function, ast.FunctionDef):
                    if (name, function.name) in DYNAMIC:
                        for i, source in enumerate(DYNAMIC[(name, function.name)]):
                            found[f"{where}[{i}]"] = re.compile(source)
                    else:
                        uncovered.append(where)
                # at module level, a pattern built otherwise is compiled: found in vars()
    return found, uncovered


def _flags(call: ast.Call) -> int:
    flags = 0
    for node in [*call.args[1:], *(k.value for k in call.keywords)]:
        for sub in ast.walk(node):
            if (isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Name)
                    and sub.value.id == "re" and isinstance(getattr(re, sub.attr), int)):
                flags |= getattr(re, sub.attr)
    return flags


def _inputs(pattern: re.Pattern) -> list[tuple[str, str, int, str]]:
    """(head, unit, count, tail): long runs of each character the pattern names other than
    letters and digits (a letter, a capital, a digit, a space, a line break and a tab stand
    for those and for the classes), alone (then also ending in a character that makes the
    pattern fail there) and alternating with a space or a letter; and the EXTRA runs, which
    spell the words patterns loop on."""
    chars = sorted({c for c in pattern.pattern if not c.isalnum()} | set(" aA1\n\t"))
    out = []
    for c in chars:
        out += [("", c, RUN, ""), ("", c, RUN, "\x00"),
                ("", c + " ", RUN // 2, ""), ("", c + "a", RUN // 2, "")]
    out += [(head, unit, RUN // len(unit), tail) for head, unit, tail in EXTRA]
    return out


def test_every_regex_is_found() -> None:
    found, uncovered = regexes()
    assert not uncovered, (
        f"regexes built at run time at {uncovered}: add an instance of each to DYNAMIC")
    # the ones that were super-linear, or loop the most, are among them
    names = set(found)
    assert {"ingest.sentences._BOUNDARY", "ingest.sentences._WORD_BEFORE", "ingest.clean._META",
            "ingest.abbreviations._CANDIDATE", "ingest.html_text._TAG_REST"} <= names
    assert any(k.startswith("ingest.abbreviations:") for k in names)  # `_uses`, dynamic
    assert any(k.startswith("ingest.clean:") for k in names)  # literals in re.sub calls


def test_no_regex_backtracks_catastrophically() -> None:
    found, _ = regexes()
    jobs = [((name, inp), (p.pattern, p.flags, *inp)) for name, p in found.items()
            for inp in _inputs(p)]
    with Worker(REGEX_BUDGET, target="tests.test_regex_backtracking:regex_job",
                batch_files=200) as w:
        slow = [(name, head, unit[:20], tail) for (name, (head, unit, _, tail)), out
                in w.run(jobs) if isinstance(out, LoadError)]
    assert not slow, f"super-linear on these runs (over {REGEX_BUDGET:g} s each): {slow}"


def test_the_regex_check_catches_a_quadratic_regex(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself can fail: the old sentence splitter's `([\\w.]+)$` is caught."""
    old = re.compile(r"([\w.]+)$")
    with Worker(3.0, target="tests.test_regex_backtracking:regex_job") as w:
        (_, out), = w.run([("old", (old.pattern, old.flags, "", "a", RUN, "\x00"))])
    assert isinstance(out, LoadError) and "took longer than 3 s" in str(out)
