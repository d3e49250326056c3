"""The rooms of the code: imports go one way (ingest <- index <- app <- eval), and no two
modules import each other, directly or round a circle.

Every import statement counts, wherever it is: at the top, inside a function (a lazy
import) or under `if TYPE_CHECKING:`. The one exception is the CLI's `eval` command, which
imports the eval suite lazily inside its function.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"ingest": 0, "index": 1, "app": 2, "eval": 3}
# (importing module, imported package): allowed upward imports, each inside a function.
LAZY_UPWARD = {("app.cli", "eval")}


def modules() -> dict[str, Path]:
    out = {}
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


def imports(path: Path, name: str, known: set[str]) -> list[tuple[str, bool]]:
    """(imported project module, inside a function?) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            targets: list[str] = []
            if isinstance(child, ast.Import):
                targets = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    up = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                           for a in child.names]
            for target in targets:
                while target and target not in known:  # a name inside a module
                    target = target.rpartition(".")[0]
                if target and target.split(".")[0] in LAYERS:
                    found.append((target, nested))
            visit(child, nested)

    visit(tree, False)
    return found


def graph() -> dict[str, list[tuple[str, bool]]]:
    mods = modules()
    return {name: imports(path, name, set(mods)) for name, path in mods.items()}


def test_imports_go_one_way() -> None:
    upward = []
    for name, targets in graph().items():
        layer = LAYERS[name.split(".")[0]]
        for target, in_function in targets:
            top = target.split(".")[0]
            if LAYERS[top] <= layer:
                continue
            if (name, top) in LAZY_UPWARD and in_function:
                continue
            upward.append(f"{name} imports {target}")
    assert upward == []


def test_no_import_circles() -> None:
    edges = {name: {t for t, _ in targets if t != name and not name.startswith(t + ".")}
             for name, targets in graph().items()}
    # A package's __init__ is imported with any of its modules: an edge to a package is an
    # edge to its __init__ only, which holds no imports of the project (checked below).
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    assert circles == []


def test_package_inits_say_what_they_hold_and_import_nothing() -> None:
    for name, path in modules().items():
        if path.name != "__init__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        doc = ast.get_docstring(tree)
        assert doc and "import" in doc, f"{name}: say what it holds and what it may import"
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)
                    and not (isinstance(n, ast.ImportFrom) and n.module == "__future__")], name


def test_the_checker_finds_an_upward_and_a_circular_import(tmp_path: Path) -> None:
    """The walk itself: a lazy upward import and a type-only one are both seen."""
    source = tmp_path / "mod.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                      "    from app.service import Citewise\n"
                      "def f():\n    import eval.gate\n")
    found = imports(source, "ingest.mod", set(modules()))
    assert ("app.service", False) in found and ("eval.gate", True) in found


def test_no_module_is_over_400_lines() -> None:
    long = [f"{p.relative_to(ROOT)}: {n}" for p in [*modules().values(),
                                                   *(ROOT / "tests").glob("*.py")]
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 420]
    assert long == []
